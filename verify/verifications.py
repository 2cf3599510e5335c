"""The verification operations: start (or re-send), check, approve or cancel, delivery
reports, and what the calls' webhooks record and decide.

Views parse and authorise; this module decides; the store changes state atomically; a
channel (sms/, voice/) delivers. It never sees a Flask request.
"""
from __future__ import annotations

import functools
import logging
import math
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from . import errors, locales, metrics, phone, sids
from .codes import CodeBook, validate_custom_code
from .errors import VerifyError
from .expiries import Expiries
from .model import CallTurn, Verification
from .protection import rules
from .protection.admission import Admission
from .services import Services, service_not_found
from .store.round_trip import Reads
from .store.verifications import Send, Store
from .twilio.client import CarrierUnavailable, translate
from .twilio.slots import CarrierSlots

log = logging.getLogger("telverify.verify")


class Channel(Protocol):
    name: str
    delivers_code: bool  # False for an approve call: its code is never told, so never checked
    dials: bool  # a call, which can dial an extension

    def refuse(self, destination: phone.Destination, service: dict) -> VerifyError | None:
        """Why this channel cannot reach the destination, before anything is stored."""

    def send(self, verification: Verification, code: str, service: dict, attempt: int) -> str | None:
        """Deliver the code; raise what the `twilio` library raised. Returns the sid of a call
        placed, which only that call's webhooks may then act on."""


@dataclass(frozen=True)
class StartRequest:
    to: str
    channel: str
    locale: str | None = None
    custom_friendly_name: str | None = None
    custom_code: str | None = None
    send_digits: str | None = None
    tags: str | None = None
    rate_limits: dict[str, str] | None = None
    challenge: str | None = None  # "<identity>/<YC sid>": the phone challenge this verification settles
    ends_by: float | None = None  # epoch s: the code expires by then (an Entra sign-in's end), if sooner


_NOT_FOUND_REASONS = {
    "approved": "was already approved; start a new verification to check another code",
    "expired": "has expired; start a new verification",
    "canceled": "was canceled; start a new verification",
    "failed": "failed (the person may have reported it as fraud); start a new verification",
}
# An extension written in `To` is dialled once the switchboard has answered: two seconds' pause.
EXTENSION_PAUSE = "wwww"


def _send_digits(request: StartRequest, destination: phone.Destination, channel: Channel) -> str | None:
    if not destination.extension:
        return request.send_digits
    if not channel.dials:
        raise errors.invalid(f"Invalid parameter `To`: it has an extension (x{destination.extension}), "
                             f"which only a call can dial; use Channel=call or call_approve.")
    if request.send_digits:
        raise errors.invalid("Give the extension either in `To` or in `SendDigits`, not both.")
    digits = EXTENSION_PAUSE + destination.extension
    if len(digits) > 32:
        raise errors.invalid("Invalid parameter `To`: the extension is too long to dial.")
    return digits


def _counting_refusals(operation):
    """Abuse protection's refusals counted by reason (verify/metrics.py), whoever asked: the
    API, a phone factor's challenge, an Entra sign-in, a person's own page."""
    @functools.wraps(operation)
    def counted(self, service_sid: str, *args, **kwargs):
        try:
            return operation(self, service_sid, *args, **kwargs)
        except VerifyError as error:
            if error.reason:
                metrics.refused(service_sid, error.reason)
            raise
    return counted


def _verification_not_found(service_sid: str, sid: str) -> VerifyError:
    return errors.not_found(f"The requested resource /Services/{service_sid}/Verifications/{sid} was not found")


class Verifications:
    def __init__(self, store: Store, services: Services, codes: CodeBook, channels: dict[str, Channel],
                 admission: Admission, lockout: tuple[int, int, int, int], carrier: CarrierSlots):
        self.store = store
        self.services = services
        self.codes = codes
        self.channels = channels
        self.admission = admission
        self.lockout = lockout  # the check script's lockout arguments (admission.lockout_arguments)
        self.carrier = carrier  # the process's threads that may wait on Twilio (twilio/slots.py)
        self.expiries = Expiries(store.statuses)  # those this process started, counted if they expire
        # Told at once of an approve call decided for a phone challenge: (service sid, the
        # challenge's "<identity>/<YC sid>", the verification's sid, approved | fraud_reported).
        self.on_challenge_decided: Callable[[str, str, str, str], None] | None = None

    @_counting_refusals
    def judge(self, service_sid: str, to: str, parameter: str = "To") -> phone.Destination:
        """The destination `to` if telverify may call or text it for this service (a phone
        factor's number, before it is kept), by the rules a start applies to every send; else
        raise their refusal, naming `parameter` when the number cannot be read."""
        self.services.get(service_sid)
        destination = phone.parse(to, parameter)
        account_sid = self.services.owner(service_sid)
        state = self.store.sending_state(service_sid, account_sid or "", destination.e164, time.time())
        if account_sid is None or state.service is None:
            raise service_not_found(service_sid)
        self.admission.refuse(state, destination)
        return destination

    @_counting_refusals
    def start(self, service_sid: str, request: StartRequest) -> tuple[Verification, bool]:
        """Returns the verification and whether it is new (False: the pending one was re-sent)."""
        try:
            channel = self.channels.get(request.channel)
            if channel is None:
                raise VerifyError(errors.CHANNEL_DISABLED, f"Delivery channel disabled: `{request.channel}` is "
                                  f"not enabled on this telverify; use one of: {', '.join(sorted(self.channels))}.")
            destination = phone.parse(request.to)
        except VerifyError:
            self.services.get(service_sid)  # an unknown service answers 404 before any other error
            raise
        # The service and the number's standing in one round trip: under load a round trip costs
        # the app about half the CPU of a whole trivial request, and with Redis across a network,
        # latency too.
        account_sid = self.services.owner(service_sid)  # known: the view required it to be the caller's
        if account_sid is None:
            raise service_not_found(service_sid)
        state = self.store.sending_state(service_sid, account_sid, destination.e164, time.time())
        if state.service is None:
            raise service_not_found(service_sid)
        service = state.service
        refusal = channel.refuse(destination, service)
        if refusal:
            raise refusal
        send_digits = _send_digits(request, destination, channel)
        if request.custom_code is not None and not service["custom_code_enabled"]:
            raise errors.invalid("Invalid parameter `CustomCode`: custom codes are not enabled on this "
                                 "service (set CustomCodeEnabled=true on the service).")
        code = (validate_custom_code(request.custom_code) if request.custom_code is not None
                else self.codes.generate(service["code_length"]))
        locale = locales.resolve(request.locale, destination.region)
        ticket = self.admission.admit(service_sid, state, destination, request.rate_limits, channel.delivers_code)
        self.expiries.count_due_soon(time.time())  # before the slot, which only the send needs
        # A slot for the request to Twilio before anything is stored or counted: with every slot
        # waiting on a slow Twilio, the start is refused at once (503) and nothing has changed.
        with self.carrier.slot():
            now = time.time()
            new_sid = self.store.new_verification_sid(destination.e164)
            salt = secrets.token_hex(8)
            send = Send(new_sid=new_sid, to=destination.e164, channel=channel.name,
                        expires_at=min(now + service["code_expiry_seconds"], request.ends_by or math.inf),
                        sealed_code=self.codes.seal(new_sid, code),
                        salt=salt, salted_digest=self.codes.salted(salt, self.codes.digest(service_sid, code)),
                        locale=locale, friendly_name=request.custom_friendly_name, tags=request.tags,
                        send_digits=send_digits, delivers_code=channel.delivers_code,
                        number_limits=ticket.number_limits, challenge=request.challenge)
            outcome, sid, attempt, verification = self.store.create_or_resend(service_sid, send, now)
            masked = phone.mask(destination.e164)
            if outcome == "blocked":  # reported as fraud since admission looked
                raise rules.blocked(attempt, destination.e164)
            if outcome == "limited":
                raise rules.number_refusal(sid, attempt, destination)
            if outcome == "max_sends":
                log.warning("verification %s to %s refused: max send attempts", sid, masked)
                raise VerifyError(errors.MAX_SENDS, "Max send attempts reached: this verification has been sent "
                                  "5 times. Check the code, cancel the verification, or wait until it expires.", 429)
            try:
                self.admission.count(ticket)
            except VerifyError:  # a shared limit filled since admission looked: nothing is sent
                self.store.release_send(service_sid, verification, attempt, permanent=True)
                raise
            if outcome == "resent":
                code = self.codes.unseal(sid, verification.sealed_code)
            try:
                call_sid = channel.send(verification, code, service, attempt)
            except Exception as exc:  # what the twilio library raised, translated or re-raised
                error = translate(exc, masked)
                permanent = error is not None and not isinstance(error, CarrierUnavailable)
                self.store.release_send(service_sid, verification, attempt, permanent)
                metrics.sent(channel.name, "refused" if permanent else "unavailable")
                if error is None:
                    raise
                log.warning("verification %s to %s: %s attempt %d not sent (Twilio %s): %s", sid, masked,
                            channel.name, attempt, getattr(exc, "code", type(exc).__name__), error.message)
                raise error from exc
            if call_sid:
                verification = self.store.record_call(service_sid, sid, attempt, call_sid, now).verification
            metrics.sent(channel.name, "sent")
            if outcome == "created":
                metrics.started(service_sid, channel.name)
                self.expiries.started(service_sid, sid, verification.expires_at)
            log.info("verification %s to %s: %s attempt %d sent (%s)", sid, masked, channel.name, attempt, outcome)
            return verification, outcome == "created"

    @_counting_refusals
    def check(self, service_sid: str, code: str, *, to: str | None = None, sid: str | None = None):
        if not code or len(code) > 10:
            raise errors.invalid("Invalid parameter `Code`: it is required, up to 10 characters.")
        if bool(to) == bool(sid):
            raise errors.invalid("Either `To` or `VerificationSid` must be given, not both.")
        if to:
            to = phone.normalize(to)
        elif not sids.is_sid(sid, sids.VERIFICATION):
            raise _verification_not_found(service_sid, sid)
        outcome = None
        if sids.is_sid(service_sid, sids.SERVICE):
            outcome = self.store.check(service_sid, self.codes.digest(service_sid, code), time.time(),
                                       self.lockout, sid=sid, to=to)
        if outcome is None:
            raise service_not_found(service_sid)
        name, verification, lockout = outcome
        if name == "missing":
            raise errors.not_found(f"No verification to check for {phone.mask(to) if to else sid}: none was "
                                   "started, or it ended more than 24 hours ago.")
        if name == "locked":
            raise rules.locked_out(lockout, verification.to)
        if name == "final":
            if verification.status == "max_attempts_reached":
                raise VerifyError(errors.MAX_CHECKS, "Max check attempts reached: this verification was "
                                  "checked 5 times without the right code. Start a new verification.", 429)
            raise errors.not_found(f"Verification {verification.sid} "
                                   f"{_NOT_FOUND_REASONS.get(verification.status, 'is not pending')}.")
        log.info("verification %s to %s checked: %s (attempt %d)", verification.sid,
                 phone.Masked(verification.to), name, verification.checks)
        if verification.status in ("approved", "max_attempts_reached"):  # this check ended it
            metrics.ended(service_sid, verification.channel, verification.status)
        if lockout:
            log.warning("%s locked out for %d s after too many wrong codes", phone.mask(verification.to), lockout)
        return verification

    def fetch(self, service_sid: str, sid: str) -> Verification:
        if not sids.is_sid(service_sid, sids.SERVICE):
            raise service_not_found(service_sid)
        if not sids.is_sid(sid, sids.VERIFICATION):
            self.services.get(service_sid)  # an unknown service answers its own 404
            raise _verification_not_found(service_sid, sid)
        service_exists, verification = self.store.fetch(service_sid, sid, time.time())
        if not service_exists:
            raise service_not_found(service_sid)
        if verification is None:
            raise _verification_not_found(service_sid, sid)
        return verification

    def fetch_read(self, service_sid: str, sid: str) -> Reads:
        """fetch() as reads of a service's verification, to send with another store's in one round
        trip (its answer: the verification, or None where fetch() answers 404)."""
        if not sids.is_sid(sid, sids.VERIFICATION):
            raise _verification_not_found(service_sid, sid)
        read = self.store.fetch_read(service_sid, sid, time.time())
        return Reads(read.commands, lambda replies: read.answer(replies)[1])

    def set_status(self, service_sid: str, sid: str, status: str) -> Verification:
        self.services.get(service_sid)
        if not sids.is_sid(sid, sids.VERIFICATION):
            raise _verification_not_found(service_sid, sid)
        outcome = self.store.update_status(service_sid, sid, status, time.time())
        if outcome.name == "missing":
            raise _verification_not_found(service_sid, sid)
        verification = outcome.verification
        if outcome.name == "final":
            raise errors.not_found(f"Verification {sid} cannot become {status}: it is already "
                                   f"{verification.status}.")
        log.info("verification %s to %s %s by the application", sid, phone.Masked(verification.to), status)
        metrics.ended(service_sid, verification.channel, status)
        return verification

    def record_call(self, service_sid: str, sid: str, attempt: int, call_sid: str, **event: str
                    ) -> Verification | None:
        """Record a call's progress (status, answered_by, outcome) on its attempt. None when the
        verification is gone or the CallSid is not the one this attempt placed."""
        recorded = self.store.record_call(service_sid, sid, attempt, call_sid, time.time(), **event)
        if recorded.name != "recorded":
            log.warning("call %s for verification %s attempt %d ignored: %s", call_sid, sid, attempt, recorded.name)
            return None
        return recorded.verification

    def call_turn(self, service_sid: str, sid: str, attempt: int, call_sid: str, **event: str
                  ) -> tuple[CallTurn | None, dict | None]:
        """record_call, answering what the call's webhook reads of its verification, and the
        service's friendly_name and dtmf_input_required (None when the service is gone), in one
        round trip: every TwiML webhook of a call needs both."""
        name, turn, service = self.store.call_turn(service_sid, sid, attempt, call_sid, time.time(), **event)
        if name != "recorded":
            log.warning("call %s for verification %s attempt %d ignored: %s", call_sid, sid, attempt, name)
            return None, service
        return turn, service

    def decide_by_call(self, service_sid: str, sid: str, to: str | None, attempt: int, call_sid: str,
                       decision: str) -> tuple[str, CallTurn | None, dict | None]:
        """The person on an approve call approved (#) or reported fraud (0 then #). Returns the
        outcome's name, the verification as the call reads it and the call's service fields
        (None: deleted)."""
        name, turn, service, challenge = self.store.decide_by_call(service_sid, sid, to, attempt, call_sid,
                                                                   decision, time.time())
        if name == "decided":
            level = logging.WARNING if decision == "fraud_reported" else logging.INFO
            log.log(level, "verification %s to %s %s on call %s", sid, phone.Masked(turn.to), decision, call_sid)
            metrics.ended(service_sid, "call_approve", "approved" if decision == "approved" else "fraud_reported")
            if challenge and self.on_challenge_decided is not None:
                self.on_challenge_decided(service_sid, challenge, sid, decision)
        elif name != "repeat":
            log.warning("verification %s: %s on call %s not applied (%s)", sid, decision, call_sid, name)
        return name, turn, service

    def code_to_speak(self, turn: CallTurn) -> str:
        """The code a `call` reads out, unsealed only for that moment."""
        return self.codes.unseal(turn.sid, turn.sealed_code)

    def record_delivery(self, service_sid: str, sid: str, attempt: int, status: str, error_code: str) -> bool:
        changed = self.store.mark_delivery(service_sid, sid, attempt, status, error_code)
        if changed:
            metrics.delivery(status)
        if changed and status in ("undelivered", "failed"):
            log.warning("verification %s attempt %d %s (Twilio error %s)", sid, attempt, status, error_code or "-")
        return changed
