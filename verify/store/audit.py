"""The audit log in Redis: a sorted set of entries scored by time (keys.AUDIT_LOG), and the same
entries again in one sorted set per account, service and number (keys.audit_index), so that a
filtered read pages through that number's entries, not the whole log.

A write (lua/audit_write.lua) adds the entry to each of its sets and drops what has left the
retention from the log and from every set that holds it, in one step: the sets share the
`{audit}` hash tag, one slot of a cluster. A set no write reaches again expires a day after the
retention (its TTL only collects it: nothing past the retention is read, whatever Redis holds).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import redis
from redis.cluster import RedisCluster

from . import keys
from .scripts import load_scripts

BATCH = 500  # entries read per round trip while a filter the index does not cover is applied
# Entry field -> its name in Redis (keys.AUDIT_LOG): each is stored once per set, so short.
STORED = {"sid": "sid", "time": "time", "admin_id": "admin", "action": "action", "status": "status",
          "account_sid": "account", "service_sid": "service", "phone_number": "number", "tag": "tag",
          "identity": "identity"}
INDEXES = ("tag", "service", "account")  # the narrowest first: a read pages through the first it names
MAX_DROPPED = 500  # entries past the retention that one write drops


@dataclass(frozen=True)
class AuditEntry:
    sid: str
    time: float
    admin_id: str
    action: str  # e.g. lockout.clear, block.add, services.list
    status: int  # the HTTP status the request was answered with
    account_sid: str | None
    service_sid: str | None
    phone_number: str | None  # masked (phone.mask): the number itself is never stored
    tag: str | None  # the number's keyed tag (sids.NumberTags): its entries are found by it
    identity: str | None = None  # an entity's (verify/methods/): the person a help desk acted for

    def stored(self) -> dict:
        """The entry as Redis keeps it (keys.AUDIT_LOG), without the fields that have no value."""
        return {STORED[name]: value for name, value in asdict(self).items() if value is not None}


def _entry(stored: dict) -> AuditEntry:
    return AuditEntry(**{name: stored.get(short) for name, short in STORED.items()})


class AuditStore:
    def __init__(self, client: redis.Redis | RedisCluster):
        self.redis = client
        self._scripts = load_scripts(client, ("audit_write",))

    def write(self, entry: AuditEntry, oldest: float, keep_seconds: int) -> int:
        """Add the entry to its sets, scored by its time, and drop the entries older than
        `oldest`; a set is collected `keep_seconds` after the last write to it. How many were dropped."""
        member = json.dumps(entry.stored(), separators=(",", ":"))
        return self._scripts["audit_write"](keys=[keys.AUDIT_LOG], args=[
            member, repr(entry.time), repr(oldest), keep_seconds, keys.AUDIT_INDEX_PREFIX, MAX_DROPPED])

    def read(self, oldest: float, offset: int, limit: int, **wanted: str | None) -> list[AuditEntry]:
        """Up to `limit` entries from `offset`, newest first, none older than `oldest`, with the
        values `wanted` (account, service, tag, identity; None: any). An identity has no index
        of its own: it is compared on the entries of the narrowest index named with it."""
        wanted = {kind: value for kind, value in wanted.items() if value is not None}
        kind = next((kind for kind in INDEXES if kind in wanted), None)
        key = keys.audit_index(kind, wanted.pop(kind)) if kind else keys.AUDIT_LOG
        # With nothing left to compare, the page is read where it starts; otherwise from the
        # newest entry on, skipping the first `offset` that match.
        start, skip = (0, offset) if wanted else (offset, 0)
        found: list[AuditEntry] = []
        while len(found) < limit:
            rows = self.redis.zrevrangebyscore(key, "+inf", repr(oldest), start=start,
                                               num=BATCH if wanted else limit)
            for stored in map(json.loads, rows):
                if any(stored.get(name) != value for name, value in wanted.items()):
                    continue
                if skip:
                    skip -= 1
                else:
                    found.append(_entry(stored))
            if not wanted or len(rows) < BATCH:
                break
            start += BATCH
        return found[:limit]
