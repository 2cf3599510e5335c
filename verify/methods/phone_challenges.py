"""Challenges of phone factors: each starts a verification to the factor's number, and ends as
that verification ends.

The verification is started first, carrying "<identity>/<YC sid>", and the challenge is stored
after it, in the entity's slot: a start that is refused leaves no challenge, and a crash between
the two leaves only a verification whose outcome settles nothing. An approve call's decision
reaches the challenge at once (`settle_from_verification`, which verifications.decide_by_call
calls); a code is checked here; and a read of a pending challenge asks its verification and
settles it when that has ended (a code checked through VerificationCheck, expiry, a decision that
could not be applied).

Verification -> challenge: approved -> approved (the factor verified); failed, which only a fraud
report makes -> denied; expired, canceled, max_attempts_reached -> expired. The verification's
status is kept on the challenge (vr); `responded_reason` stays Verify's "none".
"""
from __future__ import annotations

import logging
import time

from .. import errors
from ..errors import VerifyError
from ..model import Verification
from ..store.methods import MethodStore
from ..verifications import EXTENSION_PAUSE, StartRequest, Verifications
from .model import Challenge, Entity
from .phone import channel_for

log = logging.getLogger("telverify.methods")

SETTLES = {"approved": "approved", "failed": "denied", "expired": "expired", "canceled": "expired",
           "max_attempts_reached": "expired", "deleted": "expired"}
DECIDED = {"approved": "approved", "fraud_reported": "failed"}  # an approve call's decision -> status


class PhoneChallenges:
    def __init__(self, store: MethodStore, verifications: Verifications):
        self.store = store
        self.verifications = verifications

    def start(self, entity: Entity, factor: dict[str, str], sid: str, channel: str | None, details: str,
              hidden: str, ends_by: float | None = None) -> str:
        """Start the verification of challenge `sid` and store the challenge; 'pending', or
        'no_factor' when the factor was deleted meanwhile (its verification is then canceled).
        `ends_by`: the challenge expires by then, if sooner than its code would. A refused start
        raises its error, and nothing is stored."""
        channel = channel_for(factor["kd"], channel or factor["pc"], "Channel")
        extension = factor.get("px")
        request = StartRequest(to=factor["pn"], channel=channel,
                               send_digits=EXTENSION_PAUSE + extension if extension else None,
                               challenge=f"{entity.identity}/{sid}", ends_by=ends_by)
        verification, _ = self.verifications.start(entity.service_sid, request)
        outcome, _ = self.store.create_challenge(
            entity.service_sid, entity.identity, sid, factor["sid"], time.time(), verification.expires_at, None,
            details, hidden, {"ty": "phone", "ch": channel, "vs": verification.sid}, unverified_too=True)
        if outcome == "no_factor":
            try:
                self.verifications.set_status(entity.service_sid, verification.sid, "canceled")
            except VerifyError:
                pass  # it ended meanwhile
        return outcome

    def check(self, entity: Entity, challenge: Challenge, code: str) -> None:
        """Check a code through the challenge's verification; settle the challenge when it ends.
        The verification's own refusals (60202 after its 5 checks, a lockout) pass through."""
        if challenge.channel == "call_approve":
            raise errors.invalid(f"Challenge {challenge.sid} is approved by pressing # on its call, not by a code: "
                                 "poll it (GET) until it is no longer pending.")
        try:
            checked = self.verifications.check(entity.service_sid, code, sid=challenge.verification_sid)
        except VerifyError as error:
            self.reconcile(entity, challenge)  # it may have ended elsewhere
            if error.status == 404:
                return
            raise
        self.settle(entity.service_sid, entity.identity, challenge.sid, challenge.verification_sid, checked.status)

    def reconcile(self, entity: Entity, challenge: Challenge) -> bool:
        """Settle a pending challenge whose verification has ended; True when it did."""
        return self.reconciled(entity, challenge)[0]

    def reconciled(self, entity: Entity, challenge: Challenge) -> tuple[bool, Verification | None]:
        """reconcile(), and the verification it read (None: gone, its day passed)."""
        try:
            verification = self.verifications.fetch(entity.service_sid, challenge.verification_sid)
        except VerifyError as error:
            if error.status != 404:
                raise
            verification = None
        return self.settled_by(entity, challenge, verification), verification

    def settled_by(self, entity: Entity, challenge: Challenge, verification: Verification | None) -> bool:
        """Settle a pending challenge if `verification`, its own as just read, has ended (None:
        gone, its day passed); True when it did."""
        status = verification.status if verification is not None else "expired"
        return self.settle(entity.service_sid, entity.identity, challenge.sid, challenge.verification_sid,
                           status) == "settled"

    def settle(self, service_sid: str, identity: str, sid: str, verification_sid: str, status: str) -> str:
        """The settle script's outcome for a verification now `status` ('pending': nothing done)."""
        if status not in SETTLES:
            return "pending"
        return self.store.settle_challenge(service_sid, identity, sid, SETTLES[status], verification_sid, status,
                                           time.time())

    def settle_from_verification(self, service_sid: str, challenge: str, verification_sid: str,
                                 decision: str) -> None:
        """What verifications.decide_by_call tells once an approve call is decided. Never raises:
        the call's answer does not depend on it, and the challenge's next read settles it anyway.
        A challenge that is gone (its entity deleted) is left as it is."""
        identity, _, sid = challenge.partition("/")
        try:
            outcome = self.settle(service_sid, identity, sid, verification_sid, DECIDED[decision])
        except Exception:
            log.exception("challenge %s not settled by verification %s; its next read settles it", sid,
                          verification_sid)
            return
        log.info("challenge %s %s by verification %s: %s", sid, decision, verification_sid, outcome)
