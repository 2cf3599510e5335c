"""The deployment's limits and geo permissions are a ceiling: a service may narrow them, never
widen them. Every API credential can use every service, so whatever one service may do, every
application may do; only the operator, through the deployment's settings, decides how far that is.

A limit is a set of rates, each a moving window: "A per W" lets at most A sends into any W
seconds. A service's limit is within the deployment's when, for each of the deployment's rates
"A per W", one of the service's rates "a per w" keeps any W seconds at A sends or fewer:

    a × ⌈W / w⌉ ≤ A

Any W seconds are covered by ⌈W / w⌉ windows of w seconds, each holding at most a sends (for
w ≥ W, a single one), so a limit that passes lets through nothing the deployment's would
refuse. The bound can be higher than what several rates together really let through, so the
rule may refuse a limit that is in fact within; it never accepts one that is not.
"""
from __future__ import annotations

import phonenumbers
from limits import RateLimitItem

from .rules import SERVICE_LIMIT_FIELDS, AllowedCountries, describe_limit, window_refusal, window_words

Rates = tuple[RateLimitItem, ...]


def most_in(rates: Rates, seconds: int) -> int | None:
    """The most sends `rates` let into any `seconds`, by the bound above; None when unlimited."""
    return min((rate.amount * -(-seconds // rate.get_expiry()) for rate in rates), default=None)


def _kept_within(rates: Rates, ceiling: RateLimitItem) -> bool:
    most = most_in(rates, ceiling.get_expiry())
    return most is not None and most <= ceiling.amount


def held_to(rates: Rates, deployment: Rates) -> Rates:
    """What a service whose own limit is `rates` is held to: its rates, and each of the
    deployment's that they do not keep within. A send must pass all of them, so the stricter of
    the two limits applies, also to a service stored before the deployment was tightened; a
    service within the deployment's limit counts its own rates only."""
    return rates + tuple(rate for rate in deployment if not _kept_within(rates, rate))


def refusal(settings, field: str, value) -> str | None:
    """Why a service may not set its `field` (a PROTECTION_FIELDS name) to `value`, parsed; None
    when it may."""
    if field == "allowed_countries":
        return _countries_refusal(value, settings.allowed_countries)
    name = SERVICE_LIMIT_FIELDS[field]
    return window_refusal(name, value) or _limit_refusal(name, value, settings.limits[name])


def _limit_refusal(name: str, rates: Rates, deployment: Rates) -> str | None:
    exceeded = next((rate for rate in deployment if not _kept_within(rates, rate)), None)
    if exceeded is None:
        return None
    most, window = most_in(rates, exceeded.get_expiry()), window_words(exceeded)
    allows = "sets no limit" if most is None else f"lets up to {most} through per {window}"
    return (f"{allows}, more than this deployment's {exceeded.amount} per {window} (LIMIT_{name.upper()} is "
            f"'{describe_limit(deployment)}'): a service's limits may only be as strict as the deployment's, "
            "or stricter")


def _countries_refusal(service: AllowedCountries, deployment: AllowedCountries) -> str | None:
    beyond = _beyond(service, deployment)
    if beyond is None:
        return None
    return (f"reaches {beyond}, which this deployment does not allow (ALLOWED_COUNTRIES is '{deployment}'): a "
            "service may only narrow the deployment's countries")


def _beyond(service: AllowedCountries, deployment: AllowedCountries) -> str | None:
    """The countries that the first of the service's entries the deployment's do not cover
    reaches, or None."""
    if deployment.everywhere:
        return None
    if service.everywhere:
        return "every country"
    for region in sorted(service.regions):
        if region not in deployment.regions and \
                phonenumbers.country_code_for_region(region) not in deployment.calling_codes:
            return region
    for code in sorted(service.calling_codes - deployment.calling_codes):
        # A calling code reaches every region that shares it (+44: GB, GG, IM, JE) and, for
        # the non-geographic ones (+800), numbers of no region ("001"), which only the
        # deployment's own calling code allows.
        missing = [region for region in phonenumbers.region_codes_for_country_code(code)
                   if region not in deployment.regions]
        if missing:
            return ", ".join("numbers of no country" if region == "001" else region for region in missing)
    return None
