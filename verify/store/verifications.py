"""Verifications in Redis, changed through their Lua scripts (services and their block lists:
services.py).

Each check-and-change is one script, so concurrent requests never approve twice or miscount
an attempt. "Now" always comes from Python: expiry is decided from the times passed in, so a
frozen clock tests it, and Redis TTLs only collect garbage.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError

from .. import sids
from ..model import (
    CallTurn,
    CheckedVerification,
    SendingState,
    Verification,
    record_in,
    service_from_redis,
    verification_from_record,
    verification_from_redis,
)
from ..sids import NumberTags
from . import keys
from .round_trip import ClusterRoundTrip, Reads, RoundTrip, raising, read_together
from .scripts import load_scripts
from .services import FRAUD_BLOCK_SECONDS

MAX_SENDS = 5
MAX_CHECKS = 5
FINAL_RETENTION_SECONDS = 24 * 3600  # how long a finished verification can still be fetched
SCRIPTS = ("call_event", "check", "create_or_resend", "decide_by_call", "mark_delivery", "release_send",
           "update_status")
CALL_SERVICE_FIELDS = ("friendly_name", "dtmf_input_required")  # what a call's webhooks need
# What Twilio reports that a record keeps as it is (an error code, who answered); anything else,
# which only a forged or broken request sends, is kept without the record's separators.
_REPORTED = re.compile(r"[0-9A-Za-z_.:-]{0,64}")


def _reported(value: str) -> str:
    return value if _REPORTED.fullmatch(value) else re.sub(r"[^0-9A-Za-z_.:-]", "", value)[:64]


@dataclass(frozen=True)
class Send:
    """A code to send to a number, and the verification to create for it when none is pending
    (a pending one is re-sent, with its own code)."""
    new_sid: str
    to: str
    channel: str
    expires_at: float
    sealed_code: str  # codes.py: the code sealed with AES-GCM...
    salt: str
    salted_digest: str  # ...and the digest a check compares
    locale: str
    friendly_name: str | None
    tags: str | None  # JSON
    send_digits: str | None
    delivers_code: bool  # False for an approve call: its code is never spoken, so never checked
    number_limits: str  # "kind:amount:seconds,...", protection/rules.py's number_limits
    challenge: str | None = None  # "<identity>/<YC sid>" of the phone challenge it settles


@dataclass(frozen=True)
class Outcome:
    name: str
    verification: Verification | None


class Store:
    def __init__(self, client: redis.Redis | RedisCluster, tags: NumberTags):
        self.redis = client
        self.tags = tags  # a number's tag: the Redis slot of its keys
        self.cluster = isinstance(client, RedisCluster)
        # The hot paths: a check, a fetch and the call webhooks.
        self._round_trip = ClusterRoundTrip(client) if self.cluster else RoundTrip(client)
        self._scripts = load_scripts(client, SCRIPTS, library="record")

    # -- verifications ----------------------------------------------------------------------
    def new_verification_sid(self, to: str) -> str:
        """A sid for a new verification to `to`: it carries the number's tag."""
        return sids.new_verification_sid(self.tags(to))

    def create_or_resend(self, service_sid: str, send: Send, now: float):
        """Returns (outcome, sid, attempt index, the verification as it now stands); outcome is
        created, resent, max_sends, blocked (the index: seconds until the block lifts) or
        limited (the sid names the limit, "kind:amount:seconds", and the index is the seconds
        until a slot frees). The verification is None unless it was created or resent."""
        tag = keys.tag_of_verification(send.new_sid)  # the number's, made with new_verification_sid
        working = {"sc": send.sealed_code, "sl": send.salt, "hs": send.salted_digest}
        if send.friendly_name:
            working["fn"] = send.friendly_name
        if send.tags:
            working["tg"] = send.tags
        if send.challenge:
            working["yc"] = send.challenge
        # The record keeps whole seconds (store/keys.py): a code expires at the second its
        # date_expires names.
        expires_in = math.floor(send.expires_at) - math.floor(now)
        arguments = {"now": repr(now), "expires_in": expires_in, "sid": send.new_sid, "to": send.to,
                     "channel": send.channel, "working": working, "locale": send.locale,
                     "send_digits": send.send_digits or "", "delivers_code": send.delivers_code,
                     "max_sends": MAX_SENDS, "retention": FINAL_RETENTION_SECONDS,
                     "slot_prefix": keys.slot_prefix(service_sid, tag),
                     "number_limits": send.number_limits}
        number_key, working_key = keys.verification_keys(service_sid, send.new_sid)
        outcome, sid, index, *reply = self._scripts["create_or_resend"](
            keys=[number_key, working_key, keys.blocked(service_sid, tag, send.to),
                  keys.latest(service_sid, tag, send.to)],
            args=[json.dumps(arguments, separators=(",", ":"))])
        verification = None
        if reply:
            record, sealed_code, friendly_name, send_digits = reply
            verification = verification_from_record(service_sid, sid, record, now, sealed_code, friendly_name,
                                                    send_digits)
        return outcome, sid, int(index), verification

    def check(self, service_sid: str, digest: str, now: float, lockout: tuple[int, int, int, int], *,
              sid: str | None = None, to: str | None = None
              ) -> tuple[str, CheckedVerification | None, int] | None:
        """None when the service does not exist; otherwise the script's outcome, the checked
        verification and the seconds the number stays locked out (0: not locked).
        `lockout`: failures before a lockout, window s, first lockout s, longest lockout s."""
        if sid:
            tag, mode, subject = keys.tag_of_verification(sid), "sid", sid
        else:
            tag, mode, subject = self.tags(to), "to", to
        script_keys = (keys.number(service_sid, tag), keys.failed_checks(service_sid, tag),
                       keys.lockout(service_sid, tag))
        args = [mode, repr(now), digest, MAX_CHECKS, FINAL_RETENTION_SECONDS, keys.slot_prefix(service_sid, tag),
                *lockout, subject]
        exists, reply = self._read_and_run(("EXISTS", keys.service(service_sid)), "check", script_keys, args)
        if not exists:
            return None
        if len(reply) == 1:
            return reply[0], None, 0
        return reply[0], CheckedVerification.from_reply(service_sid, reply[1:8]), int(reply[8])

    def sending_state(self, service_sid: str, account_sid: str, to: str, now: float) -> SendingState:
        """All a send is decided on before its limits are counted, in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.service(service_sid))
            pipe.hexists(keys.safe_list(account_sid), to)
            tag = self.tags(to)
            pipe.ttl(keys.blocked(service_sid, tag, to))
            pipe.hget(keys.lockout(service_sid, tag), "until")
            service, safe_listed, blocked, until = pipe.execute()
        locked = max(0, math.ceil(float(until) - now)) if until else 0
        return SendingState(service_from_redis(service) if service else None, bool(safe_listed),
                            max(0, blocked), locked)

    def fetch(self, service_sid: str, sid: str, now: float) -> tuple[bool, Verification | None]:
        """(whether the service exists, the verification or None), in one round trip: an
        application waiting for a press-# call polls this. A second one only for a verification
        not found in its number's key: one stored whole in its hash, the older format."""
        (found,) = read_together(self._round_trip, self.fetch_read(service_sid, sid, now))
        return found

    def fetch_read(self, service_sid: str, sid: str, now: float) -> Reads:
        """fetch() as reads, to send with another store's in one round trip (read_together)."""
        number_key, working_key = keys.verification_keys(service_sid, sid)

        def answer(replies: list) -> tuple[bool, Verification | None]:
            exists, text = replies
            recorded = _recorded(service_sid, sid, text, now)
            if recorded is not None:
                return bool(exists), recorded
            raw = self.redis.hgetall(working_key) if exists else None
            return bool(exists), (verification_from_redis(service_sid, raw, now) if raw and "st" in raw else None)
        return Reads((("EXISTS", keys.service(service_sid)), ("GET", number_key)), answer)

    def statuses(self, verifications: list[tuple[str, str]], now: float) -> list[tuple[str, str, float] | None]:
        """(status, channel, expires_at) of each (service sid, sid) as of `now`, or None where it
        is gone, in one round trip (verify/expiries.py)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for service_sid, sid in verifications:
                pipe.get(keys.verification_keys(service_sid, sid)[0])
            texts = raising(pipe.execute(raise_on_error=False))
        found = []
        for (service_sid, sid), text in zip(verifications, texts):
            verification = _recorded(service_sid, sid, text, now)
            found.append(verification and (verification.status, verification.channel, verification.expires_at))
        return found

    def update_status(self, service_sid: str, sid: str, status: str, now: float) -> Outcome:
        result = self._scripts["update_status"](keys=keys.verification_keys(service_sid, sid),
                                                args=[repr(now), status, FINAL_RETENTION_SECONDS, sid])
        return self._outcome(service_sid, sid, result, now)

    def release_send(self, service_sid: str, verification: Verification, index: int, permanent: bool) -> int:
        sid = verification.sid
        return int(self._scripts["release_send"](
            keys=[*keys.verification_keys(service_sid, sid),
                  keys.latest(service_sid, keys.tag_of_verification(sid), verification.to)],
            args=[index, "1" if permanent else "0", sid]))

    def mark_delivery(self, service_sid: str, sid: str, index: int, status: str, error_code: str) -> bool:
        return bool(self._scripts["mark_delivery"](keys=keys.verification_keys(service_sid, sid),
                                                   args=[index, status, _reported(error_code or ""), sid]))

    def record_call(self, service_sid: str, sid: str, index: int, call_sid: str, now: float, *,
                    status: str = "", answered_by: str = "", outcome: str = "") -> Outcome:
        """Outcome name: missing, foreign (the CallSid is not this attempt's call) or recorded."""
        _, result = self._read_and_run(None, "call_event", (keys.verification(service_sid, sid),),
                                       [index, call_sid, status, _reported(answered_by), outcome, "all"])
        return self._outcome(service_sid, sid, result, now)

    def call_turn(self, service_sid: str, sid: str, index: int, call_sid: str, now: float, *,
                  status: str = "") -> tuple[str, CallTurn | None, dict | None]:
        """record_call, answering what a TwiML webhook reads (a CallTurn, not the whole
        verification), plus what the call says of its service (friendly_name,
        dtmf_input_required; None when the service is gone), in one round trip."""
        service, result = self._run_for_call(service_sid, "call_event", (keys.verification(service_sid, sid),),
                                             [index, call_sid, status, "", "", "turn"])
        return *self._turn(service_sid, sid, result, now), service

    def _run_for_call(self, service_sid: str, script_name: str, script_keys: tuple, args: list) -> tuple:
        """(the call's service fields, None when the service is gone; the script's reply), in
        one round trip."""
        fields, reply = self._read_and_run(("HMGET", keys.service(service_sid), *CALL_SERVICE_FIELDS),
                                           script_name, script_keys, args)
        if fields[0] is None:  # every service has a friendly_name
            return None, reply
        return service_from_redis({k: v for k, v in zip(CALL_SERVICE_FIELDS, fields) if v is not None}), reply

    def _read_and_run(self, read: tuple | None, script_name: str, script_keys: tuple, args: list) -> tuple:
        """(reply to `read`, reply of the script) in one round trip: the read (if
        any) rides with the script's EVALSHA."""
        script = self._scripts[script_name]
        evalsha = ("EVALSHA", script.sha, len(script_keys), *script_keys, *args)
        for _ in range(2):
            replies = self._round_trip.send(*([read] if read else []), evalsha)
            if not isinstance(replies[-1], NoScriptError):
                break
            self.redis.script_load(script.script)  # Redis restarted or flushed its script cache
        raising(replies)
        return (replies[0] if read else None), replies[-1]

    def decide_by_call(self, service_sid: str, sid: str, to: str | None, index: int, call_sid: str, decision: str,
                       now: float) -> tuple[str, CallTurn | None, dict | None, str | None]:
        """Outcome name: missing, foreign, repeat, final or decided (see decide_by_call.lua), the
        verification as call_turn reads it, the call's service fields as call_turn reads them,
        and the phone challenge the verification settles ("<identity>/<YC sid>", or None), in
        one round trip. `to`: the verification's number, needed (to block it) for
        fraud_reported only."""
        script_keys = keys.verification_keys(service_sid, sid)
        if decision == "fraud_reported":
            # In the verification's slot (the script's other keys): its sid carries the number's tag.
            script_keys += (keys.blocked(service_sid, keys.tag_of_verification(sid), to),)
        service, result = self._run_for_call(
            service_sid, "decide_by_call", script_keys,
            [repr(now), index, call_sid, decision, FINAL_RETENTION_SECONDS, FRAUD_BLOCK_SECONDS, sid])
        name, turn = self._turn(service_sid, sid, result, now)
        if name == "decided" and decision == "fraud_reported":
            # The index lives in the service's slot, not the number's: listed after the block.
            self.redis.zadd(keys.blocked_index(service_sid), {to: now + FRAUD_BLOCK_SECONDS})
        challenge = result[9] if len(result) > 9 else None
        return name, turn, service, challenge.decode() if isinstance(challenge, bytes) else challenge

    @staticmethod
    def _turn(service_sid: str, sid: str, result: list, now: float) -> tuple[str, CallTurn | None]:
        """The call scripts' reply: (outcome name, CallTurn; None when they found no call)."""
        return result[0], CallTurn.from_reply(service_sid, sid, result[1:], now) if len(result) > 1 else None

    @staticmethod
    def _outcome(service_sid: str, sid: str, result: list, now: float) -> Outcome:
        """The reply {name, record, sealed code} of the scripts that answer a whole verification."""
        name, *rest = result
        if not rest:
            return Outcome(name, None)
        return Outcome(name, verification_from_record(service_sid, sid, rest[0], now, *rest[1:]))


def _recorded(service_sid: str, sid: str, text: str | None, now: float) -> Verification | None:
    """The verification `sid` as its record in its number's key `text` has it, or None."""
    record = record_in(text, sid) if text else None
    return verification_from_record(service_sid, sid, record, now) if record is not None else None


