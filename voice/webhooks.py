"""The webhooks that run a verification call: answer, redirects, key presses, call status and
answering-machine detection.

Twilio reads any HTTP error aloud as "an application error has occurred", so every TwiML
webhook answers TwiML: a call whose verification is unknown, finished or expired hears an
apology and is hung up. Call progress is recorded with one Lua script per event, and a
repeated or late webhook changes nothing (see call_event.lua and decide_by_call.lua).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask import Response, jsonify, request

from verify import metrics
from verify.core import core
from verify.errors import SERVICE_UNAVAILABLE, VerifyError
from verify.model import CallTurn
from verify.twilio.callbacks import AttemptRef, attempt_of

from . import bp
from .channel import webhook_url
from .script import CallScript
from .speech import Speaker

log = logging.getLogger("telverify.voice")

MACHINE_VERDICTS = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
# Final CallStatus -> outcome, when nothing more telling (approved, code read...) happened first.
UNANSWERED = {"busy": "busy", "no-answer": "no_answer", "failed": "failed", "canceled": "canceled"}
PROMPT_ROUNDS = 3  # a prompt heard three times with no key ends the call
DETECTION_ROUNDS = 12  # seconds held for the machine-detection verdict before asking for a key
READINGS = 5  # times the code can be heard on one call
_CALL_SID = re.compile(r"CA[0-9a-f]{32}")


@dataclass(frozen=True)
class CallRef:
    """Which verification attempt a webhook is about, from its signed URL and Twilio's CallSid."""
    attempt_ref: AttemptRef
    call_sid: str

    @classmethod
    def from_request(cls) -> "CallRef | None":
        ref = attempt_of(request.args)
        call_sid = request.form.get("CallSid", "")
        if ref is None or not _CALL_SID.fullmatch(call_sid):
            return None
        return cls(ref, call_sid)

    @property
    def service_sid(self) -> str:
        return self.attempt_ref.service_sid

    @property
    def sid(self) -> str:
        return self.attempt_ref.verification_sid

    @property
    def attempt(self) -> int:
        return self.attempt_ref.attempt


@dataclass(frozen=True)
class LiveCall:
    ref: CallRef
    verification: CallTurn
    service: dict
    script: CallScript

    @property
    def channel(self) -> str:
        return self.verification.channel

    @property
    def answered_by(self) -> str | None:
        return self.verification.answered_by


def _verifications():
    return core().verifications


def _xml(text: str) -> Response:
    return Response(text, mimetype="application/xml")


def _twiml(script: CallScript, moment: str, *args) -> Response:
    return _xml(script.twiml(moment, *args))


def _round() -> int:
    raw = request.args.get("round", "1")
    return int(raw) if re.fullmatch(r"[1-9][0-9]?", raw) else 1


def _script(ref: CallRef, locale: str, name: str) -> CallScript:
    settings = core().settings
    speaker = Speaker.for_locale(locale, settings.voice_names)
    attempt = ref.attempt_ref

    def url(route: str, **extra) -> str:
        return webhook_url(settings, route, attempt, **extra)
    return CallScript(speaker, name, url)


def _call_script(ref: CallRef, verification: CallTurn, service: dict) -> CallScript:
    """The script of a call: in its verification's language, naming its custom or service name."""
    return _script(ref, verification.locale, verification.custom_friendly_name or service["friendly_name"])


def _inactive(ref: CallRef | None = None, verification: CallTurn | None = None) -> Response:
    locale = verification.locale if verification else "en"
    return _twiml(_script(ref or CallRef(AttemptRef("", "", 0), ""), locale, ""), "inactive")


def _open(ref: CallRef | None, pending_only: bool = True, **event: str) -> LiveCall | Response:
    """The call's verification if it can still be decided, else the apology to answer with.
    `pending_only=False` lets a decision through to decide_by_call.lua, which knows a repeat."""
    if ref is None:
        return _inactive()
    turn, service = _verifications().call_turn(ref.service_sid, ref.sid, ref.attempt, ref.call_sid, **event)
    if turn is None or service is None or (pending_only and turn.status != "pending"):
        return _inactive(ref, turn)
    return LiveCall(ref, turn, service, _call_script(ref, turn, service))


def _record(call: LiveCall, **event: str) -> None:
    _verifications().record_call(call.ref.service_sid, call.ref.sid, call.ref.attempt, call.ref.call_sid, **event)


def _read_code(call: LiveCall, reading: int) -> Response:
    code = _verifications().code_to_speak(call.verification)
    _record(call, outcome="code_read")
    log.info("verification %s: code read on call %s (reading %d)", call.ref.sid, call.ref.call_sid, reading)
    return _xml(str(call.script.read_code(code, reading)))  # never the cached twiml(): it holds the code


def _no_key(call: LiveCall) -> Response:
    _record(call, outcome="no_key")
    return _twiml(call.script, "farewell", "no_key")


def _code_call(call: LiveCall, detection_round: int) -> Response:
    """Read the code only to a person: after a human verdict, or after a key press when the
    service requires one or detection could not tell."""
    if call.service["dtmf_input_required"] or call.answered_by == "unknown":
        return _twiml(call.script, "key_gate", 1)
    if call.answered_by == "human":
        return _read_code(call, 1)
    if detection_round > DETECTION_ROUNDS:
        return _twiml(call.script, "key_gate", 1)
    return _twiml(call.script, "await_detection", detection_round)


def _step(step: str, round_: int, **event: str) -> Response:
    call = _open(CallRef.from_request(), **event)
    if isinstance(call, Response):
        return call
    if call.answered_by in MACHINE_VERDICTS:
        return _twiml(call.script, "hang_up")
    script = call.script
    if call.channel == "call_approve":
        if step == "start":
            return _twiml(script, "approve_prompt", 1)
        if step in ("approve", "fraud"):
            if round_ > PROMPT_ROUNDS:
                return _no_key(call)
            return _twiml(script, "approve_prompt" if step == "approve" else "fraud_confirm", round_)
    elif call.channel == "call":
        if step == "start":
            return _code_call(call, 1)
        if step == "detect":
            return _code_call(call, round_)
        if step == "gate":
            return _no_key(call) if round_ > PROMPT_ROUNDS else _twiml(script, "key_gate", round_)
    return _inactive(call.ref, call.verification)


@bp.post("/answer")
def answer():
    return _step("start", 1, status="in-progress")


@bp.post("/step")
def step():
    """Where a prompt goes on after its <Gather> heard no key, or detection is awaited."""
    return _step(request.args.get("step", ""), _round())


def _decide(ref: CallRef | None, decision: str, to: str | None = None) -> Response:
    """Approve (#) or report fraud (0 then #). decide_by_call.lua checks all that call_turn would
    (this attempt, this call, an approve call, still pending) and reads the service in the same
    round trip, so # costs one. `to`: the number to block, for a fraud report."""
    if ref is None:
        return _inactive()
    result, verification, service = _verifications().decide_by_call(ref.service_sid, ref.sid, to, ref.attempt,
                                                            ref.call_sid, decision)
    if service is None or result not in ("decided", "repeat"):
        return _inactive(ref, verification)
    return _twiml(_call_script(ref, verification, service), "farewell", decision)


@bp.post("/key")
def key():
    """A <Gather> heard a key."""
    step, round_ = request.args.get("step", ""), _round()
    digit = request.form.get("Digits", "")[:1]
    if step == "approve" and digit == "#":
        return _decide(CallRef.from_request(), "approved")
    call = _open(CallRef.from_request(), pending_only=not (digit == "#" and step == "fraud"))
    if isinstance(call, Response):
        return call
    if call.channel == "call" and step in ("gate", "code") and digit:
        if step == "code" and round_ >= READINGS:
            return _twiml(call.script, "farewell", "goodbye")
        return _read_code(call, round_ + 1 if step == "code" else 1)
    if call.channel == "call_approve" and step == "approve":
        if digit == "0":
            return _twiml(call.script, "fraud_confirm", 1)
        return _twiml(call.script, "approve_prompt", round_, True)  # after an invalid key
    if call.channel == "call_approve" and step == "fraud":
        if digit == "#":
            return _decide(call.ref, "fraud_reported", call.verification.to)
        return _twiml(call.script, "approve_prompt", 1)
    return _inactive(call.ref, call.verification)


@bp.post("/status")
def call_status():
    """Twilio's call progress: ringing, answered, and how the call ended."""
    ref = CallRef.from_request()
    if ref is not None:
        status, answered_by = request.form.get("CallStatus", ""), request.form.get("AnsweredBy", "")
        outcome = UNANSWERED.get(status, "")
        if status == "completed":
            outcome = "machine" if answered_by in MACHINE_VERDICTS else "hung_up"
        recorded = _verifications().record_call(ref.service_sid, ref.sid, ref.attempt, ref.call_sid, status=status,
                                                answered_by=answered_by, outcome=outcome)
        if recorded is not None:
            metrics.call_outcome("machine" if outcome == "machine" else status)
    return "", 204


@bp.post("/amd")
def machine_detected():
    """The answering-machine verdict. A machine or fax hears nothing more: we hang up."""
    ref = CallRef.from_request()
    answered_by = request.form.get("AnsweredBy", "")
    if ref is None or not re.fullmatch(r"[a-z_]{1,32}", answered_by):
        return "", 204
    machine = answered_by in MACHINE_VERDICTS
    verification = _verifications().record_call(ref.service_sid, ref.sid, ref.attempt, ref.call_sid,
                                        answered_by=answered_by, outcome="machine" if machine else "")
    attempt = verification.attempt(ref.attempt) if verification else None
    if machine and attempt is not None and attempt.outcome == "machine":
        log.info("verification %s: call %s answered by %s; hanging up", ref.sid, ref.call_sid, answered_by)
        core().channels[attempt.channel].hang_up(ref.call_sid)
    return "", 204


@bp.errorhandler(Exception)
def apologise(exc):
    """Whatever failed (Redis, a bug), the caller hears an apology, not Twilio's error message."""
    if request.path.endswith(("/status", "/amd")):
        log.exception("voice callback %s failed", request.path)
        error = VerifyError(SERVICE_UNAVAILABLE, "telverify could not record this call event.", 503)
        return jsonify(error.to_dict()), 503
    log.exception("voice webhook %s failed; apologising to the caller", request.path)
    return _inactive()
