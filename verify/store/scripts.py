"""The Lua scripts of `lua/`, registered on a client, and the shape of their replies."""
from __future__ import annotations

from importlib import resources

import redis


def load_scripts(client: redis.Redis, wanted) -> dict:
    """The scripts whose file name `wanted(name)` accepts, by name without `.lua`."""
    folder = resources.files(__package__) / "lua"
    return {path.name[:-4]: client.register_script(path.read_text())
            for path in folder.iterdir() if path.name.endswith(".lua") and wanted(path.name)}


def pairs(flat: list) -> dict[str, str]:
    """A flat [field, value, ...] reply (HGETALL inside a script) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))
