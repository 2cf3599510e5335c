"""Whether Redis can serve this process's requests: it takes a write (a replica, a full Redis
or one out of disk refuses it) and holds every script (loaded where it lacks them)."""
from __future__ import annotations

from . import keys
from .scripts import REGISTERED


def check(client) -> None:
    """Raise the store's error unless Redis is ready; load the scripts it lacks."""
    client.set(keys.READINESS, "1", px=1000)
    shas = list(REGISTERED)
    for sha, present in zip(shas, client.script_exists(*shas)):
        if not present:
            client.script_load(REGISTERED[sha])
