"""Verify's Entities, Factors and Challenges in Redis (the keys: store/keys.py's legend).

Every change to one entity, its factors or its challenges is one script in the entity's slot. The
service's index of entities lives in the service's slot: an entity is added to it after its script
created it and removed after its script deleted it, both idempotently, so a listing skips an
identity whose entity is gone.
"""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from . import keys
from .round_trip import Reads, ScriptCall, for_client, hash_reply, read_together, run_script, run_scripts
from .scripts import flat, load_scripts

CHALLENGE_RETENTION_SECONDS = 30 * 24 * 3600  # an ended challenge stays readable this long
CHALLENGES_KEPT = 1000  # per entity: the newest; creating one more drops the oldest
FACTORS_PER_ENTITY = 50  # an entity holds at most this many factors
LIST_ALL = 10_000  # more than an entity ever holds (CHALLENGES_KEPT, FACTORS_PER_ENTITY)

SCRIPTS = ("entity_create", "entity_default", "entity_delete", "factor_create", "factor_update", "factor_delete",
           "factor_reseal", "entity_methods", "challenge_create", "challenge_update", "challenge_settle")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _methods_found(found: list) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
    if not found:
        return None, []
    return hash_reply(found[0]), [hash_reply(factor) for factor in found[1:]]


class MethodStore:
    def __init__(self, client: redis.Redis | RedisCluster):
        self.redis = client
        self._scripts = load_scripts(client, SCRIPTS)
        # A challenge with an authenticator app's code and a sign-in's list of methods are hot
        # paths: their reads and scripts go by round_trip.py, without redis-py's per-command work
        # (a third of a command's cost).
        self._round_trip = for_client(client)

    def _run(self, name: str, script_keys: list[str], args: list):
        result = run_script(self._round_trip, self._scripts[name], script_keys, args)
        return [str(_text(item)) for item in result] if isinstance(result, list) else _text(result)

    def entity_and_read(self, service_sid: str, identity: str, key: str) -> Reads:
        """(the entity, the hash `key` of one of its factors or challenges), None for either that
        is missing: reads to send, with other stores' if need be, in one round trip (read)."""
        return Reads((("HGETALL", keys.entity(service_sid, identity)), ("HGETALL", key)),
                     lambda replies: tuple(hash_reply(reply) if reply else None for reply in replies))

    def read(self, *reads: Reads) -> list:
        """Each Reads' answer, sent together in one round trip on this store's connection."""
        return read_together(self._round_trip, *reads)

    # -- entities ------------------------------------------------------------------------------
    def create_entity(self, service_sid: str, identity: str, sid: str, now: float) -> bool:
        """False when the identity has an entity already."""
        created = self._run("entity_create", [keys.entity(service_sid, identity)], [sid, repr(now)]) == 1
        self.redis.zadd(keys.entities_index(service_sid), {identity: now}, nx=True)
        return created

    def entity(self, service_sid: str, identity: str) -> dict[str, str] | None:
        raw = self.redis.hgetall(keys.entity(service_sid, identity))
        return hash_reply(raw) if raw else None

    def methods(self, service_sid: str, identity: str) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
        """(the entity, its factors in creation order), (None, []) without one, in one round trip."""
        (found,) = run_scripts(self._round_trip, self.methods_read(service_sid, identity))
        return found

    def methods_read(self, service_sid: str, identity: str) -> ScriptCall:
        """methods() as a script call, to send with another in one round trip (run_scripts)."""
        return ScriptCall(self._scripts["entity_methods"],
                          [keys.entity(service_sid, identity), keys.factors_index(service_sid, identity)],
                          [keys.entity_prefix(service_sid, identity)], _methods_found)

    def entities(self, service_sid: str, offset: int, limit: int) -> list[tuple[str, dict[str, str]]]:
        """(identity, entity) in creation order; an identity whose entity is gone is skipped."""
        identities = [_text(i) for i in
                      self.redis.zrange(keys.entities_index(service_sid), offset, offset + limit - 1)]
        found = [(identity, self.entity(service_sid, identity)) for identity in identities]
        return [(identity, entity) for identity, entity in found if entity]

    def set_default_factor(self, service_sid: str, identity: str, factor_sid: str, now: float) -> str:
        return self._run("entity_default", [keys.entity(service_sid, identity),
                                            keys.factor(service_sid, identity, factor_sid)], [factor_sid, repr(now)])

    def delete_entity(self, service_sid: str, identity: str) -> bool:
        deleted = self._run("entity_delete", [keys.entity(service_sid, identity),
                                              keys.factors_index(service_sid, identity),
                                              keys.challenges_index(service_sid, identity)],
                            [keys.entity_prefix(service_sid, identity)]) == 1
        self.redis.zrem(keys.entities_index(service_sid), identity)
        return deleted

    def forget_service(self, service_sid: str) -> None:
        """Delete every entity of a deleted service, each in its own script; the index goes last."""
        index = keys.entities_index(service_sid)
        while identities := self.redis.zrange(index, 0, 499):
            for identity in identities:
                self.delete_entity(service_sid, _text(identity))

    # -- factors -------------------------------------------------------------------------------
    def create_factor(self, service_sid: str, identity: str, entity_sid: str, factor_sid: str, now: float,
                      fields: dict[str, str]) -> str:
        """'created', 'created_entity' (the entity too), 'full', or 'duplicate' when `fields`
        hold a phone kind (kd) another factor of the entity has, other than the one they replace
        (rp) once proven."""
        kind = fields.get("kd", "")
        if kind and fields.get("rp"):
            kind += ":" + fields["rp"]
        result = self._run("factor_create", [keys.entity(service_sid, identity),
                                             keys.factors_index(service_sid, identity),
                                             keys.factor(service_sid, identity, factor_sid)],
                           [entity_sid, factor_sid, repr(now), FACTORS_PER_ENTITY,
                            keys.entity_prefix(service_sid, identity), kind, *flat(fields)])
        if result[0] in ("full", "duplicate"):
            return result[0]
        if result[1] == "1":
            self.redis.zadd(keys.entities_index(service_sid), {identity: now}, nx=True)
            return "created_entity"
        return "created"

    def factor(self, service_sid: str, identity: str, factor_sid: str) -> dict[str, str] | None:
        raw = self.redis.hgetall(keys.factor(service_sid, identity, factor_sid))
        return hash_reply(raw) if raw else None

    def factors(self, service_sid: str, identity: str, offset: int = 0, limit: int = LIST_ALL) -> list[dict]:
        """The entity's factors in creation order."""
        sids = self.redis.zrange(keys.factors_index(service_sid, identity), offset, offset + limit - 1)
        return self._hashes([keys.factor(service_sid, identity, _text(sid)) for sid in sids])

    def update_factor(self, service_sid: str, identity: str, factor_sid: str, now: float, counter: int | None,
                      max_attempts: int, changes: dict[str, str]) -> str:
        """'ok', 'missing' or 'max'. `counter`: None without a code, -1 for a code that matched none."""
        return self._run("factor_update", [keys.entity(service_sid, identity),
                                           keys.factor(service_sid, identity, factor_sid)],
                         [factor_sid, repr(now), "" if counter is None else counter, max_attempts,
                          *flat(changes)])[0]

    def reseal(self, service_sid: str, identity: str, factor_sid: str, sealed: str, key_id: str, resealed: str
               ) -> bool:
        return self._run("factor_reseal", [keys.factor(service_sid, identity, factor_sid)],
                         [sealed, key_id, resealed]) == 1

    def delete_factor(self, service_sid: str, identity: str, factor_sid: str, now: float) -> bool:
        return self._run("factor_delete", [keys.entity(service_sid, identity),
                                           keys.factors_index(service_sid, identity),
                                           keys.factor(service_sid, identity, factor_sid)],
                         [factor_sid, keys.entity_prefix(service_sid, identity), repr(now)]) == 1

    # -- challenges ----------------------------------------------------------------------------
    def create_challenge(self, service_sid: str, identity: str, sid: str, factor_sid: str, now: float,
                         expires: float, counter: int | None, details: str, hidden: str,
                         fields: dict[str, str], unverified_too: bool = False, found_with: str = ""
                         ) -> tuple[str, dict[str, str] | None]:
        """('approved' or 'pending', the entity's hash: sid, ca, ua, df); or ('no_factor',
        None), ('unverified', None) (unless `unverified_too`), or ('stale', None) when the factor's
        seed and settings are no longer `found_with` (its sv, sd, ts, cl, sk and al joined by "|": what
        the caller found the counter with, from a read of an earlier request).
        `fields`: the challenge's own by type (keys.py: ty, ch, vs)."""
        reply = self._run("challenge_create", [keys.factor(service_sid, identity, factor_sid),
                                               keys.challenges_index(service_sid, identity),
                                               keys.challenge(service_sid, identity, sid),
                                               keys.entity(service_sid, identity)],
                          [sid, factor_sid, repr(now), repr(expires), "" if counter is None else counter,
                           CHALLENGE_RETENTION_SECONDS, CHALLENGES_KEPT, details, hidden,
                           keys.entity_prefix(service_sid, identity), "1" if unverified_too else "0", found_with,
                           *flat(fields)])
        if len(reply) == 1:
            return reply[0], None
        return reply[0], dict(zip(("sid", "ca", "ua", "df"), reply[1:]))

    def settle_challenge(self, service_sid: str, identity: str, sid: str, status: str, verification_sid: str,
                         verification_status: str, now: float) -> str:
        """'settled', 'missing', 'foreign' or the status of a challenge that had ended."""
        return self._run("challenge_settle", [keys.challenge(service_sid, identity, sid),
                                              keys.entity(service_sid, identity)],
                         [repr(now), status, verification_sid, verification_status,
                          keys.entity_prefix(service_sid, identity)])[0]

    def challenge(self, service_sid: str, identity: str, sid: str) -> dict[str, str] | None:
        raw = self.redis.hgetall(keys.challenge(service_sid, identity, sid))
        return hash_reply(raw) if raw else None

    def challenges(self, service_sid: str, identity: str, newest_first: bool) -> list[dict]:
        """Every challenge the entity keeps (at most CHALLENGES_KEPT), in creation order."""
        sids = self.redis.zrange(keys.challenges_index(service_sid, identity), 0, -1, desc=newest_first)
        return self._hashes([keys.challenge(service_sid, identity, _text(sid)) for sid in sids])

    def update_challenge(self, service_sid: str, identity: str, sid: str, factor_sid: str, now: float,
                         counter: int, max_attempts: int) -> str:
        return self._run("challenge_update", [keys.challenge(service_sid, identity, sid),
                                              keys.factor(service_sid, identity, factor_sid)],
                         [repr(now), counter, max_attempts, factor_sid])[0]

    def _hashes(self, names: list[str]) -> list[dict]:
        """The hashes, read in one round trip (they share a slot); those gone meanwhile skipped."""
        if not names:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(name)
            return [hash_reply(raw) for raw in pipe.execute() if raw]
