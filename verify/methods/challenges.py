"""The operations on challenges: create (with a code, or without and tried later), read, list,
try a code. A phone factor's challenge is a verification's (phone_challenges.py); what follows
is of TOTP factors'.

A challenge takes at most MAX_CODES codes (then 60308) until it expires (DEFAULT_LIFETIME after it
is created unless ExpirationDate says otherwise, at most MAX_LIFETIME). The factor's highest
accepted time-step counter makes each code good once, across all its challenges.
"""
from __future__ import annotations

import dataclasses
import json
import time

from .. import errors, sids
from ..errors import VerifyError
from ..model import Verification
from ..store import keys
from ..store.methods import MethodStore
from ..store.round_trip import Reads
from .entities import Entities, entity_not_found, valid_identity
from .factors import Factors, factor_not_found
from .model import Challenge, Entity
from .phone_challenges import PhoneChallenges
from .totp import found_with

MAX_CODES = 5
DEFAULT_LIFETIME = 5 * 60
MAX_LIFETIME = 60 * 60
# Verified TOTP factors whose hash a request of this process read, by (service, identity, sid):
# the next challenge with a code finds its counter from it and sends one script, which refuses
# ('stale') if the seed or settings changed since. A factor's seed sits here sealed, as in Redis.
KNOWN_FACTORS = 10_000


def challenge_not_found(identity: str, sid: str) -> VerifyError:
    return errors.not_found(f"Challenge {sid} was not found for entity {identity}.")


def _unverified(factor_sid: str) -> VerifyError:
    return VerifyError(errors.FACTOR_UNVERIFIED, f"Factor {factor_sid} is not verified: verify it with a code "
                       "before challenging it.", 403)


def _compact(value: dict | None) -> str:
    return json.dumps(value, separators=(",", ":")) if value else ""


class Challenges:
    def __init__(self, store: MethodStore, entities: Entities, factors: Factors, phone: PhoneChallenges):
        self.store = store
        self.entities = entities
        self.factors = factors
        self.phone = phone
        self._known: dict[tuple[str, str, str], dict[str, str]] = {}  # KNOWN_FACTORS

    def create(self, service_sid: str, identity: str, factor_sid: str, code: str | None,
               expires: float | None, details: dict | None, hidden_details: dict | None,
               channel: str | None = None, ends_by: float | None = None) -> Challenge:
        """`channel`: a phone factor's, within what its kind allows (None: its preferred one).
        `ends_by`: a phone challenge expires by then (its caller's deadline), if sooner than its
        code would; the API's `ExpirationDate` is a TOTP challenge's alone."""
        now = time.time()
        if expires is not None and not now < expires <= now + MAX_LIFETIME:
            raise errors.invalid("Invalid parameter `ExpirationDate`: a date-time after now and at most "
                                 f"{MAX_LIFETIME // 60} minutes from now.")
        if code is not None and channel is None:
            known = self._known.get((service_sid, identity, factor_sid))
            if known is not None:
                challenge = self._create_totp(service_sid, identity, None, factor_sid, known, code, now, expires,
                                              details, hidden_details)
                if challenge is not None:
                    return challenge
        entity, stored = self._entity_and(service_sid, identity, factor_sid, sids.FACTOR, keys.factor)
        if stored is None:
            raise factor_not_found(identity, factor_sid)
        sid = sids.new_sid(sids.CHALLENGE)
        if stored["ty"] == "phone":
            if code is not None or expires is not None:
                raise errors.invalid("A phone factor's challenge takes no `AuthPayload` or `ExpirationDate`: it "
                                     "sends a code or places a call, and lasts as long as that verification.")
            outcome = self.phone.start(entity, stored, sid, channel, _compact(details), _compact(hidden_details),
                                       ends_by)
            if outcome == "no_factor":
                raise factor_not_found(identity, factor_sid)
            return self._read(entity, sid, reconcile=False)
        if channel is not None:
            raise errors.invalid("Parameter `Channel` applies to challenges of phone factors only.")
        if stored["st"] != "verified":
            raise _unverified(factor_sid)
        return self._create_totp(service_sid, identity, entity, factor_sid, stored, code, now, expires, details,
                                 hidden_details)

    def _create_totp(self, service_sid: str, identity: str, entity: Entity | None, factor_sid: str,
                     stored: dict[str, str], code: str | None, now: float, expires: float | None,
                     details: dict | None, hidden_details: dict | None) -> Challenge | None:
        """A TOTP factor's challenge, its code found with `stored`: the factor's hash as this
        request read it (`entity` given), or as an earlier one did; then None when the factor is
        not as it was (the caller reads it again)."""
        counter = None if code is None else self.factors.counter(service_sid, identity, factor_sid, stored, code)
        expires = expires or now + DEFAULT_LIFETIME
        sid = sids.new_sid(sids.CHALLENGE)
        outcome, entity_fields = self.store.create_challenge(
            service_sid, identity, sid, factor_sid, now, expires, counter, _compact(details),
            _compact(hidden_details), {"ty": stored["ty"]}, found_with=found_with(stored) if entity is None else "")
        known = (service_sid, identity, factor_sid)
        if entity is None and outcome not in ("approved", "pending"):  # stale, or gone: read it again
            self._known.pop(known, None)
            return None
        if outcome == "no_factor":  # deleted meanwhile
            raise factor_not_found(identity, factor_sid)
        if outcome == "unverified":
            raise _unverified(factor_sid)
        if entity is None:
            entity = Entity.from_hash(service_sid, identity, entity_fields)
        elif known not in self._known:
            if len(self._known) >= KNOWN_FACTORS:
                self._known.clear()
            self._known[known] = stored
        # What the script stored, answered without reading it back.
        return Challenge(sid, entity, factor_sid, stored["ty"], outcome, now, now,
                         now if outcome == "approved" else None, expires, details or None, hidden_details or None)

    def get(self, service_sid: str, identity: str, sid: str) -> Challenge:
        return self._read(self.entities.get(service_sid, identity), sid)

    def watch(self, service_sid: str, identity: str, sid: str,
              verification_sid: str = "") -> tuple[Challenge, Verification | None]:
        """The challenge as a page waiting on it polls it, and while a phone challenge is pending,
        its verification (whose call may have ended unanswered), each read once; a challenge
        whose verification has ended is settled first, as get() does. With the challenge's
        `verification_sid` known, all in one round trip; else the verification in a second."""
        if not sids.is_sid(verification_sid, sids.VERIFICATION):
            verification_sid = ""
        reads = [self.phone.verifications.fetch_read(service_sid, verification_sid)] if verification_sid else []
        entity, raw, fetched = self._entity_and_reads(service_sid, identity, sid, sids.CHALLENGE, keys.challenge,
                                                      *reads)
        if raw is None:
            raise challenge_not_found(identity, sid)
        challenge = Challenge.from_hash(entity, raw, time.time())
        if raw["st"] != "pending" or challenge.factor_type != "phone":
            return challenge, None
        if fetched and challenge.verification_sid == verification_sid:
            verification = fetched[0]
            settled = self.phone.settled_by(entity, challenge, verification)
        else:
            settled, verification = self.phone.reconciled(entity, challenge)
        if settled:
            raw = self.store.challenge(service_sid, identity, sid) or raw
            challenge = Challenge.from_hash(entity, raw, time.time())
        return challenge, verification if challenge.status == "pending" else None

    def list(self, service_sid: str, identity: str, factor_sid: str | None, status: str | None,
             newest_first: bool, offset: int, limit: int) -> list[Challenge]:
        entity = self.entities.get(service_sid, identity)
        found = [self._current(entity, raw) for raw in self.store.challenges(service_sid, identity, newest_first)]
        found = [c for c in found if (factor_sid is None or c.factor_sid == factor_sid)
                 and (status is None or c.status == status)]
        return found[offset:offset + limit]

    def update(self, service_sid: str, identity: str, sid: str, code: str) -> Challenge:
        """Try a code: approved when valid and new; else the challenge stays pending and the code
        is counted. An ended challenge answers as it is and counts nothing."""
        entity, raw = self._entity_and(service_sid, identity, sid, sids.CHALLENGE, keys.challenge)
        if raw is None:
            raise challenge_not_found(identity, sid)
        challenge = Challenge.from_hash(entity, raw, time.time())
        if challenge.factor_type == "phone":
            return self._phone_code(entity, self._current(entity, raw), code)
        if len(code) > 8:
            raise errors.invalid("Invalid parameter `AuthPayload`: the code the authenticator app shows, 3 to 8 "
                                 "characters.")
        if challenge.status != "pending":
            return challenge
        stored = self.factors.stored(service_sid, identity, challenge.factor_sid)
        if stored is None:
            raise factor_not_found(identity, challenge.factor_sid)
        counter = self.factors.counter(service_sid, identity, challenge.factor_sid, stored, code)
        now = time.time()
        outcome = self.store.update_challenge(service_sid, identity, sid, challenge.factor_sid, now, counter,
                                              MAX_CODES)
        if outcome == "missing":
            raise challenge_not_found(identity, sid)
        if outcome == "no_factor":
            raise factor_not_found(identity, challenge.factor_sid)
        if outcome == "max":
            raise VerifyError(errors.CHALLENGE_MAX_ATTEMPTS, f"Challenge {sid} took {MAX_CODES} codes: create a new "
                              "challenge.", 429)
        if outcome in ("approved", "pending"):  # the script's change, answered without reading it back
            return dataclasses.replace(challenge, status=outcome, updated=now,
                                       responded=now if outcome == "approved" else None)
        return self._read(entity, sid)

    def _entity_and(self, service_sid: str, identity: str, sid: str, kind: str, key) -> tuple[Entity, dict | None]:
        """The entity and the stored hash of its factor or challenge `sid` (`kind`, its sid
        prefix; `key`, keys.factor or keys.challenge), in one round trip: 404 without the
        entity, None for a `sid` that is not there."""
        entity, raw, _ = self._entity_and_reads(service_sid, identity, sid, kind, key)
        return entity, raw

    def _entity_and_reads(self, service_sid: str, identity: str, sid: str, kind: str, key,
                          *reads: Reads) -> tuple[Entity, dict | None, list]:
        """_entity_and(), and the answers of `reads` (another store's) sent in the same round
        trip; none for a `sid` that is not there."""
        if not valid_identity(identity):
            raise entity_not_found(service_sid, identity)
        if not sids.is_sid(sid, kind):
            return self.entities.get(service_sid, identity), None, []  # an unknown entity answers its 404 first
        (entity, raw), *found = self.store.read(
            self.store.entity_and_read(service_sid, identity, key(service_sid, identity, sid)), *reads)
        if entity is None:
            raise entity_not_found(service_sid, identity)
        return Entity.from_hash(service_sid, identity, entity), raw, found

    def settle_from_verification(self, service_sid: str, challenge: str, verification_sid: str,
                                 decision: str) -> None:
        """An approve call decided the verification of a phone challenge ("<identity>/<YC sid>")."""
        self.phone.settle_from_verification(service_sid, challenge, verification_sid, decision)

    def _phone_code(self, entity, challenge: Challenge, code: str) -> Challenge:
        if challenge.status == "pending":
            self.phone.check(entity, challenge, code)
        elif challenge.verification_status == "max_attempts_reached":
            raise VerifyError(errors.MAX_CHECKS, f"Max check attempts reached: challenge {challenge.sid}'s "
                              "verification was checked 5 times without the right code. Create a new challenge.",
                              429)
        return self._read(entity, challenge.sid, reconcile=False)

    def _read(self, entity, sid: str, reconcile: bool = True) -> Challenge:
        raw = self.store.challenge(entity.service_sid, entity.identity, sid) \
            if sids.is_sid(sid, sids.CHALLENGE) else None
        if raw is None:
            raise challenge_not_found(entity.identity, sid)
        return self._current(entity, raw) if reconcile else Challenge.from_hash(entity, raw, time.time())

    def _current(self, entity, raw: dict[str, str]) -> Challenge:
        """The challenge; a pending phone challenge settled first if its verification has ended."""
        challenge = Challenge.from_hash(entity, raw, time.time())
        if raw["st"] == "pending" and challenge.factor_type == "phone" and self.phone.reconcile(entity, challenge):
            raw = self.store.challenge(entity.service_sid, entity.identity, challenge.sid) or raw
            challenge = Challenge.from_hash(entity, raw, time.time())
        return challenge
