"""Whether a send may go out: the number's block and lockout, the numbers and countries we
never reach, the built-in limits and the application's own rate limits (Verify's
`RateLimits`). Everything here runs before anything reaches Twilio."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, RateLimitItemPerSecond

from . import errors, protection
from .errors import VerifyError
from .phone import Destination, mask
from .store import SendingState

@lru_cache(maxsize=256)
def _parsed_limit(text: str) -> tuple[RateLimitItem, ...]:
    return protection.parse_limit(text)


@lru_cache(maxsize=256)
def _parsed_countries(text: str) -> protection.AllowedCountries:
    return protection.AllowedCountries.parse(text)


@dataclass(frozen=True)
class Policy:
    limits: dict[str, tuple[RateLimitItem, ...]]
    allowed: protection.AllowedCountries


def policy(settings, service: dict) -> Policy:
    limits = dict(settings.limits)
    for field, name in protection.SERVICE_LIMIT_FIELDS.items():
        if service.get(field):
            limits[name] = _parsed_limit(service[field])
    allowed = (_parsed_countries(service["allowed_countries"]) if service.get("allowed_countries")
               else settings.allowed_countries)
    return Policy(limits, allowed)


def lockout_arguments(settings) -> tuple[int, int, int, int]:
    """The check script's lockout arguments (global: a check must stay one round trip)."""
    return (settings.lockout_failed_checks, protection.LOCKOUT_WINDOW, protection.FIRST_LOCKOUT,
            protection.LONGEST_LOCKOUT)


def blocked(seconds: int, to: str) -> VerifyError:
    days = -(-seconds // 86400)
    return VerifyError(errors.DELIVERY_BLOCKED, f"Verification delivery attempt blocked: {mask(to)} reported a "
                       f"verification call on this service as fraud, so it is not called or texted for {days} "
                       "more days unless an administrator lifts the block.", 403)


def locked_out(seconds: int, to: str) -> VerifyError:
    return VerifyError(errors.MAX_CHECKS, f"Max check attempts reached: too many wrong codes were entered for "
                       f"{mask(to)} across verifications, so its checks are locked for {seconds} more seconds.",
                       429, {"Retry-After": str(seconds)})


@dataclass(frozen=True)
class Ticket:
    """A send that passed admission: its number's limits, for create_or_resend.lua to count
    in the step that sends, and the shared counts to take once it is sent."""
    number_limits: str
    counts: list  # (refusal maker, item, identifiers)


class Admission:
    def __init__(self, limiter, admin, settings):
        self.limiter = limiter  # verify.guard.Limiter
        self.admin = admin  # verify.admin.AdminStore: safe list and programmable rate limits
        self.settings = settings

    def admit(self, service_sid: str, state: SendingState, destination: Destination,
              rate_limits: dict[str, str] | None) -> Ticket:
        """Raise the refusal for this send, or say what it will count against. `state`: the
        service and the number's standing, as Store.sending_state read them."""
        rules = policy(self.settings, state.service)
        refusal = protection.refuse_number(destination, rules.allowed, state.safe_listed)
        if refusal:
            raise refusal
        if state.blocked_seconds:
            raise blocked(state.blocked_seconds, destination.e164)
        if state.locked_seconds:
            raise locked_out(state.locked_seconds, destination.e164)
        counts = [(functools.partial(protection.refusal, counter, destination=destination), item, counter.identifiers)
                  for counter in protection.counters(rules.limits, service_sid, destination, state.safe_listed)
                  for item in counter.items]
        counts += self._programmable(service_sid, rate_limits or {})
        # Look first, so that a send one limit refuses is not counted by the others.
        self._take(counts, self.limiter.test)
        return Ticket(protection.number_limits(rules.limits), counts)

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
                found.append((functools.partial(_bucket_refusal, name), item,
                              ("{" + service_sid + "}", "rl", bucket.sid, digest)))
        return found


def _bucket_refusal(name: str, item: RateLimitItem, wait: int) -> VerifyError:
    return VerifyError(errors.RATE_LIMITED, f"Too many requests: rate limit '{name[:64]}' allows {item.amount} "
                       f"per {item.multiples} seconds. Try again in {wait} s.", 429, {"Retry-After": str(wait)})
