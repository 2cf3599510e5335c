"""The Lua scripts of `lua/`, registered on a client, and the shape of their replies."""
from __future__ import annotations

from importlib import resources

import redis

# Every script any store registered in this process, by its SHA-1: readiness loads into Redis
# those it lacks (a restarted or failed-over Redis holds none), so the first requests after do
# not each pay a NOSCRIPT and a second round trip.
REGISTERED: dict[str, str] = {}


def load_scripts(client: redis.Redis, names: tuple[str, ...], prefix: str = "", library: str | None = None) -> dict:
    """The scripts `lua/<prefix><name>.lua`, registered on `client`, by name. `library`: a file
    of `lua/` whose functions they share, put after each one's first line (`#!lua`): Redis runs
    each script on its own, so shared code travels in every script that uses it."""
    folder = resources.files(__package__) / "lua"
    shared = (folder / f"{library}.lua").read_text() if library else ""
    scripts = {}
    for name in names:
        first, _, rest = (folder / f"{prefix}{name}.lua").read_text().partition("\n")
        scripts[name] = client.register_script(f"{first}\n{shared}{rest}")
        REGISTERED[scripts[name].sha] = scripts[name].script
    return scripts


def flat(fields: dict[str, str]) -> list[str]:
    """`fields` as a script's arguments: field, value, field, value, ... (the inverse of pairs)."""
    return [item for pair in fields.items() for item in pair]


def pairs(flat: list) -> dict[str, str]:
    """A flat [field, value, ...] reply (HGETALL inside a script) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))
