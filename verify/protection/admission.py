"""Whether a send may go out: the number's block and lockout, the numbers and countries we
never reach, the built-in limits and the application's own rate limits (Verify's
`RateLimits`). Everything here runs before anything reaches Twilio."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond

from .. import errors
from ..model import SendingState
from ..phone import Destination
from . import ceiling, rules
from .rules import blocked, locked_out


@functools.lru_cache(maxsize=256)
def _held_limit(text: str, deployment: tuple[RateLimitItem, ...]) -> tuple[RateLimitItem, ...]:
    return ceiling.held_to(rules.parse_limit(text), deployment)


@functools.lru_cache(maxsize=256)
def _parsed_countries(text: str) -> rules.AllowedCountries:
    return rules.AllowedCountries.parse(text)


@dataclass(frozen=True)
class Policy:
    limits: dict[str, tuple[RateLimitItem, ...]]
    allowed: rules.AllowedCountries  # the deployment's
    narrowed: rules.AllowedCountries | None  # the service's own: both apply


def policy(settings, service: dict) -> Policy:
    """The deployment's limits and geo permissions, narrowed by the service's own. The
    deployment's are a ceiling (ceiling.py): a service's own value never lets through what the
    deployment's would refuse, even one stored before the deployment was tightened."""
    limits = dict(settings.limits)
    for field, name in rules.SERVICE_LIMIT_FIELDS.items():
        if service.get(field):
            limits[name] = _held_limit(service[field], settings.limits[name])
    narrowed = _parsed_countries(service["allowed_countries"]) if service.get("allowed_countries") else None
    return Policy(limits, settings.allowed_countries, narrowed)


def lockout_arguments(settings) -> tuple[int, int, int, int]:
    """The check script's lockout arguments (global: a check must stay one round trip)."""
    return (settings.lockout_failed_checks, rules.LOCKOUT_WINDOW, rules.FIRST_LOCKOUT, rules.LONGEST_LOCKOUT)


@dataclass(frozen=True)
class Ticket:
    """A send that passed admission: its number's limits, for create_or_resend.lua to count
    in the step that sends, and the shared counts to take once it is sent."""
    number_limits: str
    counts: list  # (refusal maker, item, identifiers)


class Admission:
    def __init__(self, limiter, admin, settings):
        self.limiter = limiter  # windows.Limiter
        self.admin = admin  # store.admin.AdminStore: the programmable rate limits' buckets
        self.settings = settings

    def admit(self, service_sid: str, state: SendingState, destination: Destination,
              rate_limits: dict[str, str] | None, delivers_code: bool = True) -> Ticket:
        """Raise the refusal for this send, or say what it will count against. `state`: the
        service and the number's standing, as the store read them together; `delivers_code`:
        False for an approve call, whose # on the person's own phone no one can guess, so a
        lockout (which stops code guessing) lets it through: the person's way back in."""
        chosen = self.refuse(state, destination)
        if state.locked_seconds and delivers_code:
            raise locked_out(state.locked_seconds, destination.e164)
        counts = [(functools.partial(rules.refusal, counter, destination=destination), item, counter.identifiers)
                  for counter in rules.counters(chosen.limits, service_sid, destination, state.safe_listed)
                  for item in counter.items]
        counts += self._programmable(service_sid, rate_limits or {})
        # Look first, so that a send one limit refuses is not counted by the others.
        self._take(counts, self.limiter.test)
        return Ticket(rules.number_limits(chosen.limits), counts)

    def refuse(self, state: SendingState, destination: Destination) -> Policy:
        """Raise the refusal of a number telverify never reaches for this service (its type, its
        country, a fraud report's block), whatever is sent; else the service's policy. Also what
        a phone factor's number is judged by before it is kept."""
        chosen = policy(self.settings, state.service)
        refusal = rules.refuse_number(destination, chosen.allowed, chosen.narrowed, state.safe_listed)
        if refusal:
            raise refusal
        if state.blocked_seconds:
            raise blocked(state.blocked_seconds, destination.e164)
        return chosen

    def count(self, ticket: Ticket) -> None:
        """Count a send the store has just allowed. Raises the refusal when another request
        took the last slot of a shared limit since admit() looked (the caller takes the send back)."""
        self._take(ticket.counts, self.limiter.hit)

    @staticmethod
    def _take(counts, take) -> None:
        for refuse, item, identifiers in counts:
            full = take(item, *identifiers)
            if full:
                raise refuse(item, full.retry_after)

    def _programmable(self, service_sid: str, rate_limits: dict[str, str]):
        """Verify's RateLimits: {"<UniqueName>": "<value to count>"} -> what to count."""
        found = []
        for name, value in rate_limits.items():
            buckets = self.admin.buckets_for(service_sid, name)
            if buckets is None:
                raise errors.invalid(f"Invalid parameter `RateLimits`: this service has no rate limit named "
                                     f"'{name[:64]}' (create it under /v2/Services/{service_sid}/RateLimits).")
            # The value (an IP address, a user id) is counted by digest: never stored in clear.
            digest = hashlib.sha256(value.encode()).hexdigest()[:32]
            for bucket in buckets:
                item = RateLimitItemPerSecond(bucket.max, bucket.interval)
                found.append((functools.partial(rules.bucket_refusal, name), item,
                              ("{" + service_sid + "}", "rl", bucket.sid, digest)))
        return found

