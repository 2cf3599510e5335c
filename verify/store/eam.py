"""Entra External MFA in Redis: the signing keys and the sign-ins (keys: store/keys.py's legend).

Every check-and-change is one script, "now" passed in from Python: the first signing key stored
once whoever races to store it, a rollover, a hint spent as its sign-in opens, a sign-in answered
once. Expiry is judged against the `ex` each sign-in stores; the Redis TTLs only clean up.
"""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from . import keys
from .round_trip import ScriptCall, for_client, hash_reply, run_script, run_scripts, text
from .scripts import flat, load_scripts, pairs

SCRIPTS = ("keys_first", "keys_rollover", "keys_reseal", "signin_open", "signin_step", "signin_answer")
CLEAN_UP_AFTER = 3600  # s a sign-in's hash outlives its expiry, so a late request is told it ended


class EamStore:
    def __init__(self, client: redis.Redis | RedisCluster):
        self.redis = client
        self._scripts = load_scripts(client, SCRIPTS, prefix="eam_")
        # Opening a sign-in is a hot path (every Entra sign-in's first request): its script and the
        # sign-in's reads go by round_trip.py.
        self._round_trip = for_client(client)

    def _run(self, name: str, script_keys: list[str], args: list):
        result = run_script(self._round_trip, self._scripts[name], script_keys, args)
        return [text(item) for item in result] if isinstance(result, list) else text(result)

    # -- signing keys --------------------------------------------------------------------------
    def signing_keys(self) -> dict[str, dict[str, str]]:
        """kid -> {k: sealed private key, c: certificate, sf: signs from, dr: dropped at or '', and
        ca: made at, where kept}."""
        found: dict[str, dict[str, str]] = {}
        for name, value in self.redis.hgetall(keys.EAM_SIGNING_KEYS).items():
            kid, _, field = text(name).rpartition(":")
            found.setdefault(kid, {})[field] = text(value)
        return {kid: fields for kid, fields in found.items() if {"k", "c", "sf", "dr"} <= fields.keys()}

    def add_first_key(self, kid: str, sealed: str, certificate: str, now: float) -> bool:
        return self._run("keys_first", [keys.EAM_SIGNING_KEYS], [kid, sealed, certificate, repr(now)]) == "1"

    def reseal_key(self, kid: str, sealed: str, resealed: str) -> bool:
        """Store `resealed` for `kid` if its key is still `sealed`; False when it changed meanwhile."""
        return self._run("keys_reseal", [keys.EAM_SIGNING_KEYS], [kid, sealed, resealed]) == 1

    def roll_over(self, kid: str, sealed: str, certificate: str, now: float, delay: int) -> tuple[str, str]:
        """('published', when it signs from) or ('pending', the kid of the key still waiting)."""
        outcome, detail = self._run("keys_rollover", [keys.EAM_SIGNING_KEYS],
                                    [repr(now), delay, kid, sealed, certificate])
        return outcome, detail

    # -- sign-ins ------------------------------------------------------------------------------
    def open_signin(self, signin_id: str, hint_digest: str, fields: dict[str, str], hint_ttl: int,
                    signin_ttl: int, *reads: ScriptCall) -> tuple[bool, list]:
        """(False when the hint has opened a sign-in before, the answers of `reads`): the
        sign-in's script and those reads (another store's) sent in one round trip."""
        opened, *found = run_scripts(self._round_trip, ScriptCall(
            self._scripts["signin_open"], [keys.eam_hint(hint_digest), keys.eam_signin(signin_id)],
            [hint_ttl, signin_ttl + CLEAN_UP_AFTER, *flat(fields)], lambda reply: text(reply) == "opened"), *reads)
        return opened, found

    def signin(self, signin_id: str) -> dict[str, str] | None:
        (raw,) = self._round_trip.send(("HGETALL", keys.eam_signin(signin_id)))
        if isinstance(raw, Exception):
            raise raw
        return hash_reply(raw) if raw else None

    def step(self, signin_id: str, now: float, fields: dict[str, str], wrong_code: bool = False) -> tuple[str, int]:
        """('ok', wrong codes so far), or ('missing' | 'answered' | 'expired', 0) changing nothing."""
        reply = self._run("signin_step", [keys.eam_signin(signin_id)],
                          [repr(now), "1" if wrong_code else "0", *flat(fields)])
        return reply[0], int(reply[1]) if len(reply) > 1 else 0

    def answer(self, signin_id: str, now: float, answer: str) -> tuple[str, dict[str, str] | None]:
        """('answered', the sign-in's fields), or ('missing' | 'expired' | 'refused', None)."""
        reply = self._run("signin_answer", [keys.eam_signin(signin_id)], [repr(now), answer])
        return reply[0], (pairs(reply[1:]) if reply[0] == "answered" else None)
