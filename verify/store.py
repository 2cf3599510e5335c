"""All Redis access: services, and verifications through their Lua scripts.

Each check-and-change is one script, so concurrent requests never approve twice or
miscount an attempt. "Now" always comes from Python (see DESIGN: a clock you can freeze).
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import redis
from redis.exceptions import NoScriptError

from . import keys
from .records import (CheckedVerification, Verification, service_from_redis, service_to_redis,
                      verification_from_redis)

MAX_SENDS = 5
MAX_CHECKS = 5
FINAL_RETENTION_SECONDS = 24 * 3600  # how long a finished verification can still be fetched
FRAUD_BLOCK_SECONDS = 90 * 24 * 3600  # a number reported as fraud is left alone this long


def connect(url: str) -> redis.Redis:
    # Short timeouts: a Redis that hangs must turn into a clear 503, not a Twilio webhook timeout.
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2,
                                health_check_interval=30, retry_on_timeout=False)


def _pairs(flat: list) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2]))


@dataclass(frozen=True)
class Outcome:
    name: str
    verification: Verification | None


class Store:
    def __init__(self, client: redis.Redis):
        self.redis = client
        folder = resources.files(__package__) / "lua"
        self._scripts = {
            path.name[:-4]: client.register_script(path.read_text())
            for path in folder.iterdir() if path.name.endswith(".lua")
        }

    # -- services ---------------------------------------------------------------------------
    def create_service(self, sid: str, settings: dict, now: float) -> None:
        fields = service_to_redis({**settings, "sid": sid, "date_created": now, "date_updated": now})
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.service(sid), mapping=fields)
            pipe.zadd(keys.SERVICES_INDEX, {sid: now})
            pipe.execute()

    def get_service(self, sid: str) -> dict | None:
        raw = self.redis.hgetall(keys.service(sid))
        return service_from_redis(raw) if raw else None

    def list_services(self, offset: int, limit: int) -> list[dict]:
        sids = self.redis.zrange(keys.SERVICES_INDEX, offset, offset + limit - 1)
        with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hgetall(keys.service(sid))
            return [service_from_redis(raw) for raw in pipe.execute() if raw]

    def update_service(self, sid: str, settings: dict, now: float) -> bool:
        fields = service_to_redis({**settings, "date_updated": now})
        args = [item for pair in fields.items() for item in pair]
        return bool(self._scripts["update_service"](keys=[keys.service(sid)], args=args))

    def delete_service(self, sid: str) -> bool:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.service(sid))
            pipe.zrem(keys.SERVICES_INDEX, sid)
            deleted, _ = pipe.execute()
        return bool(deleted)

    # -- verifications ----------------------------------------------------------------------
    def create_or_resend(self, service_sid: str, new_sid: str, to: str, channel: str, now: float,
                         expires_at: float, sealed: str, salt: str, salted_digest: str, locale: str,
                         friendly_name: str | None, tags: str | None, send_digits: str | None,
                         delivers_code: bool = True):
        """Returns (outcome, sid, attempt index); outcome is created, resent, max_sends or
        blocked (then the index is the number of seconds until the block lifts)."""
        outcome, sid, index = self._scripts["create_or_resend"](
            keys=[keys.latest(service_sid, to), keys.verification(service_sid, new_sid),
                  keys.blocked(service_sid, to)],
            args=[repr(now), new_sid, to, channel, repr(expires_at), sealed, salt, salted_digest, locale,
                  friendly_name or "", tags or "", MAX_SENDS, FINAL_RETENTION_SECONDS,
                  keys.slot_prefix(service_sid, keys.number_tag(to)), send_digits or "",
                  "1" if delivers_code else "0"])
        return outcome, sid, int(index)

    def check(self, service_sid: str, digest: str, now: float, *, sid: str | None = None,
              to: str | None = None) -> tuple[str, CheckedVerification | None] | None:
        """None when the service does not exist; otherwise the script's outcome."""
        if sid:
            key, mode, prefix = keys.verification(service_sid, sid), "sid", ""
        else:
            key, mode = keys.latest(service_sid, to), "to"
            prefix = keys.slot_prefix(service_sid, keys.number_tag(to))
        script = self._scripts["check"]
        args = [mode, repr(now), digest, MAX_CHECKS, FINAL_RETENTION_SECONDS, prefix]
        # One round trip: the service's existence rides in the same pipeline as the script.
        # EVALSHA directly, because a pipelined Script first sends SCRIPT EXISTS (a second trip).
        for _ in range(2):
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.exists(keys.service(service_sid))
                pipe.evalsha(script.sha, 1, key, *args)
                exists, reply = pipe.execute(raise_on_error=False)
            if not isinstance(reply, NoScriptError):
                break
            self.redis.script_load(script.script)  # Redis restarted or flushed its script cache
        if isinstance(exists, Exception) or isinstance(reply, Exception):
            raise reply if isinstance(reply, Exception) else exists
        if not exists:
            return None
        return reply[0], (CheckedVerification.from_reply(service_sid, reply[1:]) if len(reply) > 1 else None)

    def fetch(self, service_sid: str, sid: str, now: float) -> Verification | None:
        raw = self.redis.hgetall(keys.verification(service_sid, sid))
        return verification_from_redis(service_sid, raw, now) if raw else None

    def update_status(self, service_sid: str, sid: str, status: str, now: float) -> Outcome:
        result = self._scripts["update_status"](keys=[keys.verification(service_sid, sid)],
                                                args=[repr(now), status, FINAL_RETENTION_SECONDS])
        return self._outcome(service_sid, result, now)

    def release_send(self, service_sid: str, verification: Verification, index: int, permanent: bool) -> int:
        return int(self._scripts["release_send"](
            keys=[keys.verification(service_sid, verification.sid), keys.latest(service_sid, verification.to)],
            args=[index, "1" if permanent else "0"]))

    def mark_delivery(self, service_sid: str, sid: str, index: int, status: str, error_code: str) -> bool:
        return bool(self._scripts["mark_delivery"](keys=[keys.verification(service_sid, sid)],
                                                   args=[index, status, error_code or ""]))

    def record_call(self, service_sid: str, sid: str, index: int, call_sid: str, now: float, *,
                    status: str = "", answered_by: str = "", outcome: str = "") -> Outcome:
        """Outcome name: missing, foreign (the CallSid is not this attempt's call) or recorded."""
        result = self._scripts["call_event"](keys=[keys.verification(service_sid, sid)],
                                             args=[index, call_sid, status, answered_by, outcome])
        return self._outcome(service_sid, result, now)

    def decide_by_call(self, service_sid: str, sid: str, index: int, call_sid: str, decision: str,
                       now: float) -> Outcome:
        """Outcome name: missing, foreign, repeat, final or decided (see decide_by_call.lua)."""
        key = keys.verification(service_sid, sid)
        to = self.redis.hget(key, "to")
        if to is None:
            return Outcome("missing", None)
        result = self._scripts["decide_by_call"](
            keys=[key, keys.blocked(service_sid, to)],
            args=[repr(now), index, call_sid, decision, FINAL_RETENTION_SECONDS, FRAUD_BLOCK_SECONDS])
        return self._outcome(service_sid, result, now)

    @staticmethod
    def _outcome(service_sid: str, result: list, now: float) -> Outcome:
        name, flat = result[0], result[1:]
        return Outcome(name, verification_from_redis(service_sid, _pairs(flat), now) if flat else None)
