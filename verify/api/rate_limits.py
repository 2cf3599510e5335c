"""/v2/Services/{sid}/RateLimits and their /Buckets: Verify's programmable rate limits.

A rate limit names what the application meters (`UniqueName`, e.g. end_user_ip_address); its
buckets say how much (`Max` requests in any `Interval` seconds). A Verification names the rate
limits that apply to it with the `RateLimits` parameter (verify/flows.py enforces them).
"""
from __future__ import annotations

import re
import time

from flask import current_app, jsonify

from .. import admin, sids
from ..admin import Bucket, RateLimit
from ..errors import VerifyError, invalid, not_found
from . import bp, forms, paging, render

# Verify's own codes for these refusals (all HTTP 400).
TOO_MANY_RATE_LIMITS = 60207
DUPLICATE_UNIQUE_NAME = 60208
TOO_MANY_BUCKETS = 60210
DUPLICATE_INTERVAL = 60211

UNIQUE_NAME_LENGTH = 255
DESCRIPTION_LENGTH = 255
MAX_RANGE = (1, 1_000_000)  # requests per bucket
INTERVAL_RANGE = (1, 86_400)  # seconds: up to a day

_LOOKS_LIKE_PHONE = re.compile(r"\+?[0-9]{7,15}")  # once spaces, dots, dashes and brackets are gone
_LOOKS_LIKE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _admin() -> admin.AdminStore:
    return admin.for_app(current_app)


def _known_service(service_sid: str) -> None:
    current_app.extensions["telverify"].service(service_sid)  # 404 for an unknown service


def _missing(path: str) -> VerifyError:
    return not_found(f"The requested resource /Services/{path} was not found")


def _bucket_path(service_sid: str, rate_limit_sid: str, sid: str = "") -> str:
    return f"{service_sid}/RateLimits/{rate_limit_sid}/Buckets" + (f"/{sid}" if sid else "")


def _check_sids(service_sid: str, rate_limit_sid: str, bucket_sid: str | None = None) -> None:
    """404 for an unknown service, or for sids that cannot be a rate limit's or a bucket's
    (checked before they go into a Redis key)."""
    _known_service(service_sid)
    if not sids.is_sid(rate_limit_sid, sids.RATE_LIMIT):
        raise _missing(f"{service_sid}/RateLimits/{rate_limit_sid}")
    if bucket_sid is not None and not sids.is_sid(bucket_sid, sids.BUCKET):
        raise _missing(_bucket_path(service_sid, rate_limit_sid, bucket_sid))


# -- JSON, as Verify answers it --------------------------------------------------------------

def _account_sid() -> str:
    return current_app.config["TELVERIFY_SETTINGS"].twilio_account_sid


def rate_limit_json(r: RateLimit) -> dict:
    base = f"Services/{r.service_sid}/RateLimits/{r.sid}"
    return {
        "sid": r.sid,
        "service_sid": r.service_sid,
        "account_sid": _account_sid(),
        "unique_name": r.unique_name,
        "description": r.description,
        "date_created": render.iso(r.date_created),
        "date_updated": render.iso(r.date_updated),
        "url": render.resource_url(base),
        "links": {"buckets": render.resource_url(f"{base}/Buckets")},
    }


def bucket_json(service_sid: str, b: Bucket) -> dict:
    return {
        "sid": b.sid,
        "rate_limit_sid": b.rate_limit_sid,
        "service_sid": service_sid,
        "account_sid": _account_sid(),
        "max": b.max,
        "interval": b.interval,
        "date_created": render.iso(b.date_created),
        "date_updated": render.iso(b.date_updated),
        "url": render.resource_url(f"Services/{_bucket_path(service_sid, b.rate_limit_sid, b.sid)}"),
    }


# -- parameters ------------------------------------------------------------------------------

def _unique_name(values: dict) -> str:
    name = forms.text(values, "UniqueName", UNIQUE_NAME_LENGTH, required=True)
    if re.search(r"[\x00-\x1f\x7f]", name):
        raise invalid("Invalid parameter `UniqueName`: no control characters.")
    if _LOOKS_LIKE_PHONE.fullmatch(re.sub(r"[\s().-]", "", name)) or _LOOKS_LIKE_EMAIL.search(name):
        raise invalid("Invalid parameter `UniqueName`: it must not contain personal data such as a phone "
                      "number or an email address; name what is limited, e.g. end_user_ip_address.")
    return name


def _description(values: dict) -> str | None:
    value = values.get("Description")
    if value is not None and len(value) > DESCRIPTION_LENGTH:
        raise invalid(f"Invalid parameter `Description`: at most {DESCRIPTION_LENGTH} characters.")
    return value or None


def _bucket_values(values: dict, creating: bool) -> tuple[int | None, int | None]:
    numbers = []
    for name, (low, high) in (("Max", MAX_RANGE), ("Interval", INTERVAL_RANGE)):
        if creating and name not in values:
            raise invalid(f"Missing required parameter `{name}`.")
        numbers.append(forms.integer(values, name, low, high))
    return numbers[0], numbers[1]


def _bucket_refusal(outcome: str, service_sid: str, rate_limit_sid: str, sid: str | None = None) -> VerifyError:
    if outcome == "full":
        return VerifyError(TOO_MANY_BUCKETS, f"Max Buckets per Rate limit reached: a rate limit has at most "
                           f"{admin.MAX_BUCKETS} buckets.")
    if outcome == "duplicate_interval":
        return VerifyError(DUPLICATE_INTERVAL, "Bucket with the given Interval already exists in this rate limit; "
                           "update or delete that bucket instead.")
    if sid is None:  # the rate limit went away
        return _missing(f"{service_sid}/RateLimits/{rate_limit_sid}")
    return _missing(_bucket_path(service_sid, rate_limit_sid, sid))


# -- rate limits -----------------------------------------------------------------------------

@bp.post("/Services/<service_sid>/RateLimits")
def create_rate_limit(service_sid):
    values = forms.form({"UniqueName", "Description"})
    unique_name, description = _unique_name(values), _description(values)
    _known_service(service_sid)
    outcome, created = _admin().create_rate_limit(service_sid, sids.new_sid(sids.RATE_LIMIT), unique_name,
                                                  description, time.time())
    if outcome == "duplicate":
        raise VerifyError(DUPLICATE_UNIQUE_NAME, f"Rate limit with UniqueName '{unique_name}' already exists "
                          "in this service.")
    if outcome == "full":
        raise VerifyError(TOO_MANY_RATE_LIMITS, f"Max rate limits per service reached: a service has at most "
                          f"{admin.MAX_RATE_LIMITS}.")
    return jsonify(rate_limit_json(created)), 201


@bp.get("/Services/<service_sid>/RateLimits")
def list_rate_limits(service_sid):
    wanted = paging.requested()
    _known_service(service_sid)
    rows = _admin().rate_limits(service_sid, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("rate_limits", f"Services/{service_sid}/RateLimits", rows, rate_limit_json,
                                 wanted))


@bp.get("/Services/<service_sid>/RateLimits/<sid>")
def fetch_rate_limit(service_sid, sid):
    _check_sids(service_sid, sid)
    found = _admin().rate_limit(service_sid, sid)
    if found is None:
        raise _missing(f"{service_sid}/RateLimits/{sid}")
    return jsonify(rate_limit_json(found))


@bp.post("/Services/<service_sid>/RateLimits/<sid>")
def update_rate_limit(service_sid, sid):
    values = forms.form({"Description"})
    description = _description(values)
    if "Description" not in values:
        return fetch_rate_limit(service_sid, sid)
    _check_sids(service_sid, sid)
    updated = _admin().update_rate_limit(service_sid, sid, description, time.time())
    if updated is None:
        raise _missing(f"{service_sid}/RateLimits/{sid}")
    return jsonify(rate_limit_json(updated))


@bp.delete("/Services/<service_sid>/RateLimits/<sid>")
def delete_rate_limit(service_sid, sid):
    _check_sids(service_sid, sid)
    if not _admin().delete_rate_limit(service_sid, sid):
        raise _missing(f"{service_sid}/RateLimits/{sid}")
    return "", 204


# -- buckets ---------------------------------------------------------------------------------

@bp.post("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets")
def create_bucket(service_sid, rate_limit_sid):
    max_, interval = _bucket_values(forms.form({"Max", "Interval"}), creating=True)
    _check_sids(service_sid, rate_limit_sid)
    outcome, created = _admin().create_bucket(service_sid, rate_limit_sid, sids.new_sid(sids.BUCKET), max_,
                                              interval, time.time())
    if created is None:
        raise _bucket_refusal(outcome, service_sid, rate_limit_sid)
    return jsonify(bucket_json(service_sid, created)), 201


@bp.get("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets")
def list_buckets(service_sid, rate_limit_sid):
    wanted = paging.requested()
    _check_sids(service_sid, rate_limit_sid)
    rows = _admin().buckets(service_sid, rate_limit_sid, wanted.offset, wanted.size + 1)
    if rows is None:
        raise _missing(f"{service_sid}/RateLimits/{rate_limit_sid}")
    return jsonify(paging.answer("buckets", f"Services/{_bucket_path(service_sid, rate_limit_sid)}", rows,
                                 lambda b: bucket_json(service_sid, b), wanted))


@bp.get("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets/<sid>")
def fetch_bucket(service_sid, rate_limit_sid, sid):
    _check_sids(service_sid, rate_limit_sid, sid)
    found = _admin().bucket(service_sid, rate_limit_sid, sid)
    if found is None:
        raise _missing(_bucket_path(service_sid, rate_limit_sid, sid))
    return jsonify(bucket_json(service_sid, found))


@bp.post("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets/<sid>")
def update_bucket(service_sid, rate_limit_sid, sid):
    max_, interval = _bucket_values(forms.form({"Max", "Interval"}), creating=False)
    _check_sids(service_sid, rate_limit_sid, sid)
    if max_ is None and interval is None:
        return fetch_bucket(service_sid, rate_limit_sid, sid)
    outcome, updated = _admin().update_bucket(service_sid, rate_limit_sid, sid, max_, interval, time.time())
    if updated is None:
        raise _bucket_refusal(outcome, service_sid, rate_limit_sid, sid)
    return jsonify(bucket_json(service_sid, updated))


@bp.delete("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets/<sid>")
def delete_bucket(service_sid, rate_limit_sid, sid):
    _check_sids(service_sid, rate_limit_sid, sid)
    if not _admin().delete_bucket(service_sid, rate_limit_sid, sid):
        raise _missing(_bucket_path(service_sid, rate_limit_sid, sid))
    return "", 204
