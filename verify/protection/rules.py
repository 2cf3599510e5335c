"""Abuse protection: which numbers we never reach, and how often we reach the others.

A verification endpoint is an open door to other people's phone bills (SMS pumping, toll
fraud) and to one person's phone (flooding). Every refusal here happens before anything
reaches Twilio, says which rule refused, and where waiting helps carries Retry-After.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import phonenumbers
from limits import RateLimitItem, parse_many
from phonenumbers import PhoneNumberType

from .. import errors
from ..errors import VerifyError
from ..model import LIMIT_NAMES
from ..phone import Destination, mask

log = logging.getLogger("telverify.protection")

# Numbers whose calls and texts are billed to the caller at a premium, or that forward the
# cost elsewhere: the classic targets of toll fraud and SMS pumping.
NEVER_REACHED = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.UAN: "a universal access number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal (forwarding) number",
    PhoneNumberType.PAGER: "a pager",
}

# Built-in limits: name -> (setting, default). Generous enough that one verification's 5 sends
# and 5 checks are never refused, tight enough that nobody's bill or phone is flooded.
LIMIT_DEFAULTS = {
    "sends_per_number": "10 per 10 minutes; 30 per day",
    "calls_per_number": "5 per 10 minutes; 15 per day",
    "verifications_per_number": "5 per 10 minutes; 20 per day",
    "sends_per_prefix": "100 per hour",
    "sends_per_service": "10000 per day",
}
assert tuple(LIMIT_DEFAULTS) == LIMIT_NAMES  # a service's overrides are named after them (model.py)
# A service's own overrides of them (its Limit... parameters): service field -> limit name.
SERVICE_LIMIT_FIELDS = {f"limit_{name}": name for name in LIMIT_DEFAULTS}
LIMIT_LABELS = {
    "sends_per_number": "codes sent to this number",
    "calls_per_number": "calls to this number",
    "verifications_per_number": "verifications started for this number",
    "sends_per_prefix": "codes sent to numbers starting",
    "sends_per_service": "codes sent by this service",
}
LOCKOUT_DEFAULT = 10  # failed checks within LOCKOUT_WINDOW (NIST SP 800-63B allows at most 100)
LOCKOUT_WINDOW = 24 * 3600
FIRST_LOCKOUT = 15 * 60  # doubles with each further lockout...
LONGEST_LOCKOUT = 24 * 3600  # ...up to a day
PREFIX_DIGITS = 3  # national digits after the calling code that make a "prefix" (a range)
# A number's own limits are counted from its send log, which create_or_resend.lua keeps for a
# day, so none of their windows may be longer. The shared limits (prefix, service) are moving
# windows of the `limits` library, whose keys live as long as their window: any length.
LONGEST_NUMBER_WINDOW = 86400

# Where telverify calls and texts unless told otherwise: North America (US, Canada; not the
# Caribbean +1 islands, frequent toll-fraud destinations), Europe, and large markets with
# low international-revenue-share fraud. "*" allows every country.
ALLOWED_COUNTRIES_DEFAULT = ("US,CA,GB,IE,FR,DE,ES,PT,IT,NL,BE,LU,AT,CH,DK,SE,NO,FI,IS,PL,CZ,SK,HU,SI,"
                             "HR,RO,BG,GR,CY,MT,EE,LV,LT,AU,NZ,JP,KR,SG,HK,TW,IL,MX,BR,AR,CL,CO,ZA,IN")


def parse_limit(text: str) -> tuple[RateLimitItem, ...]:
    """"10 per 10 minutes; 30 per day" (the `limits` notation), or "unlimited"."""
    if text.strip().lower() == "unlimited":
        return ()
    items = tuple(parse_many(text))
    if not items or any(item.amount < 1 for item in items):
        raise ValueError(text)
    return items


def window_refusal(name: str, items: tuple[RateLimitItem, ...]) -> str | None:
    """Why the limit `name` cannot count over one of `items`' windows, or None."""
    if name not in NUMBER_LIMIT_KINDS:
        return None
    longest = max(items, key=RateLimitItem.get_expiry, default=None)
    if longest is None or longest.get_expiry() <= LONGEST_NUMBER_WINDOW:
        return None
    return f"counts over {window_words(longest)}, but the longest window of a number's own limits is a day"


def describe_limit(items: tuple[RateLimitItem, ...]) -> str:
    """The limit in the notation it is written in: "10 per 10 minutes; 30 per day"."""
    return "; ".join(f"{item.amount} per {window_words(item)}" for item in items) or "unlimited"


@dataclass(frozen=True)
class AllowedCountries:
    """Geo permissions: ISO regions ("US") and calling codes ("44", "+33"), or "*"."""
    regions: frozenset[str]
    calling_codes: frozenset[int]
    everywhere: bool = False

    @classmethod
    def parse(cls, text: str) -> "AllowedCountries":
        regions, codes, everywhere = set(), set(), False
        for entry in filter(None, (part.strip() for part in text.split(","))):
            if entry == "*":
                everywhere = True
            elif re.fullmatch(r"\+?[1-9][0-9]{0,2}", entry):
                codes.add(int(entry.lstrip("+")))
            elif entry.upper() in phonenumbers.SUPPORTED_REGIONS:
                regions.add(entry.upper())
            else:
                raise ValueError(entry)
        if not (regions or codes or everywhere):
            raise ValueError(text)
        return cls(frozenset(regions), frozenset(codes), everywhere)

    def allows(self, destination: Destination) -> bool:
        return (self.everywhere or destination.region in self.regions
                or destination.calling_code in self.calling_codes)

    def __str__(self) -> str:
        entries = sorted(self.regions) + [f"+{code}" for code in sorted(self.calling_codes)]
        return ",".join(["*", *entries] if self.everywhere else entries)


def number_prefix(destination: Destination) -> str:
    return f"+{destination.calling_code}{str(destination.national_number)[:PREFIX_DIGITS]}"


def refuse_number(destination: Destination, deployment: AllowedCountries, narrowed: AllowedCountries | None,
                  safe_listed: bool) -> VerifyError | None:
    """Numbers we never call or text, and countries outside the geo permissions: the
    deployment's, and the service's own (`narrowed`) where it has them. Both apply, so a service
    stored with countries the deployment does not allow (before the deployment was narrowed)
    still reaches none of them."""
    kind = NEVER_REACHED.get(destination.line_type)
    if kind:
        log.warning("refused %s: %s", mask(destination.e164), kind)
        return VerifyError(errors.DELIVERY_BLOCKED, f"Verification delivery attempt blocked: {mask(destination.e164)} "
                           f"is {kind}; telverify never calls or texts premium-rate, shared-cost, universal "
                           "access, personal or pager numbers.", 403, reason="premium")
    if safe_listed:
        return None
    if narrowed is not None and not narrowed.allows(destination):
        whose = "this service's geo permissions do not allow (AllowedCountries)"
    elif not deployment.allows(destination):
        whose = "this deployment's geo permissions do not allow (ALLOWED_COUNTRIES)"
    else:
        return None
    where = destination.region or f"+{destination.calling_code}"
    log.warning("refused %s: country %s not allowed", mask(destination.e164), where)
    return VerifyError(errors.DELIVERY_BLOCKED, f"Verification delivery attempt blocked: {mask(destination.e164)} "
                       f"is in {where}, which {whose}.", 403, reason="geo")


@dataclass(frozen=True)
class Counter:
    """One built-in limit applied to one thing (a number, a prefix, the service)."""
    name: str
    items: tuple[RateLimitItem, ...]
    identifiers: tuple[str, ...]
    subject: str  # for the message: whose count it is


# The number's own limits are counted by create_or_resend.lua, in the step that sends: each
# send logs its kinds, s (any send), c (a call) and v (a new verification).
NUMBER_LIMIT_KINDS = {"sends_per_number": "s", "calls_per_number": "c", "verifications_per_number": "v"}
KIND_NAMES = {kind: name for name, kind in NUMBER_LIMIT_KINDS.items()}


def number_limits(limits: dict[str, tuple[RateLimitItem, ...]]) -> str:
    """The number's limits for the script: "kind:amount:seconds,..."."""
    return ",".join(f"{kind}:{item.amount}:{item.get_expiry()}"
                    for name, kind in NUMBER_LIMIT_KINDS.items() for item in limits[name])


def counters(limits: dict[str, tuple[RateLimitItem, ...]], service_sid: str, destination: Destination,
             safe_listed: bool) -> list[Counter]:
    """The limits shared by many numbers that a send to `destination` counts against."""
    found = []
    if not safe_listed:
        prefix = number_prefix(destination)
        found.append(Counter("sends_per_prefix", limits["sends_per_prefix"],
                             ("{" + service_sid + "}", "prefix", prefix), f" {prefix}"))
    found.append(Counter("sends_per_service", limits["sends_per_service"], ("{" + service_sid + "}", "sends"), ""))
    return [counter for counter in found if counter.items]


def number_refusal(limited: str, retry_after: int, destination: Destination) -> VerifyError:
    """The refusal for create_or_resend.lua's "kind:amount:seconds"."""
    kind, amount, seconds = limited.split(":")
    item = parse_limit(f"{amount} per {seconds} seconds")[0]
    return refusal(Counter(KIND_NAMES[kind], (item,), (), ""), item, retry_after, destination=destination)


def refusal(counter: Counter, item: RateLimitItem, retry_after: int, *, destination: Destination) -> VerifyError:
    what = f"{item.amount} {LIMIT_LABELS[counter.name]}{counter.subject} per {window_words(item)}"
    headers = {"Retry-After": str(retry_after)}
    masked = mask(destination.e164)
    if counter.name == "sends_per_prefix":
        # A sudden surge to one range of numbers is the signature of SMS pumping.
        log.warning("possible SMS pumping: prefix%s reached %s; refusing %s", counter.subject, what, masked)
        return VerifyError(errors.FRAUD_GUARD, f"Verification delivery attempt blocked: unusually many codes "
                           f"went to numbers starting{counter.subject} (limit: {what}), the pattern of SMS "
                           f"pumping. Try again in {retry_after} s.", 429, headers, reason="fraud_guard")
    log.warning("refused %s: limit reached: %s", masked, what)
    code = errors.RATE_LIMITED if counter.name == "sends_per_service" else errors.MAX_SENDS
    return VerifyError(code, f"Too many requests: the limit of {what} is reached. Try again in {retry_after} s.",
                       429, headers, reason="limit")


def window_words(item: RateLimitItem) -> str:
    """"10 minutes", "day": in the largest unit that divides the window."""
    seconds = item.get_expiry()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"


def blocked(seconds: int, to: str) -> VerifyError:
    days = -(-seconds // 86400)
    return VerifyError(errors.DELIVERY_BLOCKED, f"Verification delivery attempt blocked: {mask(to)} reported a "
                       f"verification call on this service as fraud, so it is not called or texted for {days} "
                       "more days unless an administrator lifts the block.", 403, reason="block")


def locked_out(seconds: int, to: str) -> VerifyError:
    return VerifyError(errors.MAX_CHECKS, f"Max check attempts reached: too many wrong codes were entered for "
                       f"{mask(to)} across verifications, so its checks are locked for {seconds} more seconds.",
                       429, {"Retry-After": str(seconds)}, reason="lockout")


def bucket_refusal(name: str, item: RateLimitItem, wait: int) -> VerifyError:
    """A bucket of the application's own rate limit (Verify's RateLimits) is full."""
    return VerifyError(errors.RATE_LIMITED, f"Too many requests: rate limit '{name[:64]}' allows {item.amount} "
                       f"per {item.multiples} seconds. Try again in {wait} s.", 429, {"Retry-After": str(wait)},
                       reason="rate_limit")

