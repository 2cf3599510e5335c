"""The Lua scripts of `lua/`, registered on a client, and the shape of their replies."""
from __future__ import annotations

from importlib import resources

import redis


def load_scripts(client: redis.Redis, names: tuple[str, ...], prefix: str = "") -> dict:
    """The scripts `lua/<prefix><name>.lua`, registered on `client`, by name."""
    folder = resources.files(__package__) / "lua"
    return {name: client.register_script((folder / f"{prefix}{name}.lua").read_text()) for name in names}


def pairs(flat: list) -> dict[str, str]:
    """A flat [field, value, ...] reply (HGETALL inside a script) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))
