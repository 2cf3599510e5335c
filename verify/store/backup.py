"""An account's entities and factors read for an export and written by an import
(verify/methods/backup.py), entity by entity: each in one script in the entity's slot, so an
export's line is the entity at one moment and an import writes all of an entity or none of it.

Nothing here scans Redis: the account's services come from its services index and a service's
entities from its entities index (keys.account_services, keys.entities_index), read in pages, so
the same reads work on a Redis Cluster, where each entity may be on another node.
"""
from __future__ import annotations

import json
from typing import Iterator

import redis
from redis.cluster import RedisCluster

from . import keys
from .round_trip import text
from .scripts import load_scripts, pairs

PAGE = 500  # index entries read per round trip


def _fields(flat: list) -> dict[str, str]:
    return pairs([text(item) for item in flat])


class BackupStore:
    def __init__(self, client: redis.Redis | RedisCluster):
        self.redis = client
        self._scripts = load_scripts(client, ("entity_export", "entity_import"))

    def service_sids(self, account_sid: str) -> Iterator[str]:
        """The account's services, oldest first."""
        return self._in_order(keys.account_services(account_sid))

    def identities(self, service_sid: str) -> Iterator[str]:
        """The service's entities' identities, oldest first (one whose entity is gone may be among them)."""
        return self._in_order(keys.entities_index(service_sid))

    def _in_order(self, index: str) -> Iterator[str]:
        """A sorted set's members by score, a page at a time. Each page starts at the last score
        read, not at an offset, so a member removed meanwhile does not make the next page skip
        one; the members already read at that score are passed over."""
        low, at_low = "-inf", set()
        while True:
            rows = self.redis.zrangebyscore(index, low, "+inf", start=len(at_low), num=PAGE, withscores=True)
            for member, score in rows:
                member = text(member)
                if score == low and member in at_low:
                    continue
                if score != low:
                    low, at_low = score, set()
                at_low.add(member)
                yield member
            if len(rows) < PAGE:
                return

    def entity(self, service_sid: str, identity: str) -> tuple[dict[str, str], list[tuple[int, dict]]] | None:
        """(the entity's hash, [(sequence number, factor's hash)] in creation order) as stored,
        read in one step; None when the entity is gone."""
        found = self._scripts["entity_export"](
            keys=[keys.entity(service_sid, identity), keys.factors_index(service_sid, identity)],
            args=[keys.entity_prefix(service_sid, identity)])
        if not found:
            return None
        factors = [(int(float(text(found[i + 1]))), _fields(found[i + 2])) for i in range(1, len(found), 3)]
        return _fields(found[0]), factors

    def add_entity(self, service_sid: str, identity: str, entity: dict[str, str],
                   factors: list[tuple[int, dict[str, str]]], created: float) -> bool:
        """Write an entity and its factors unless the identity has an entity: False then, and
        nothing is written. The service's index lists it afterwards, as entity_create does."""
        imported = self._scripts["entity_import"](
            keys=[keys.entity(service_sid, identity), keys.factors_index(service_sid, identity)],
            args=[keys.entity_prefix(service_sid, identity), json.dumps(entity, separators=(",", ":")),
                  json.dumps([[fields["sid"], sequence, fields] for sequence, fields in factors],
                             separators=(",", ":"))])
        # Also when the identity exists: its index entry is put back should it be missing.
        self.redis.zadd(keys.entities_index(service_sid), {identity: created}, nx=True)
        return text(imported) == "imported"
