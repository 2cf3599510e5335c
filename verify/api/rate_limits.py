"""/v2/Services/{sid}/RateLimits and their /Buckets: Verify's programmable rate limits
(verify/rate_limits.py decides; this module reads the parameters and answers JSON)."""
from __future__ import annotations

import re

from flask import jsonify

from ..core import core
from ..errors import invalid
from ..rate_limits import bucket_path
from ..store.admin import Bucket, RateLimit
from . import bp, forms, paging, render

UNIQUE_NAME_LENGTH = 255
DESCRIPTION_LENGTH = 255
MAX_RANGE = (1, 1_000_000)  # requests per bucket
INTERVAL_RANGE = (1, 86_400)  # seconds: up to a day

_LOOKS_LIKE_PHONE = re.compile(r"\+?[0-9]{7,15}")  # once spaces, dots, dashes and brackets are gone
_LOOKS_LIKE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# -- JSON, as Verify answers it --------------------------------------------------------------

def rate_limit_json(r: RateLimit) -> dict:
    base = f"Services/{r.service_sid}/RateLimits/{r.sid}"
    return {
        "sid": r.sid,
        "service_sid": r.service_sid,
        "account_sid": render.account_sid(),
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
        "account_sid": render.account_sid(),
        "max": b.max,
        "interval": b.interval,
        "date_created": render.iso(b.date_created),
        "date_updated": render.iso(b.date_updated),
        "url": render.resource_url(f"Services/{bucket_path(service_sid, b.rate_limit_sid, b.sid)}"),
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


# -- rate limits -----------------------------------------------------------------------------

@bp.post("/Services/<service_sid>/RateLimits")
def create_rate_limit(service_sid):
    values = forms.form({"UniqueName", "Description"})
    created = core().rate_limits.create(service_sid, _unique_name(values), _description(values))
    return jsonify(rate_limit_json(created)), 201


@bp.get("/Services/<service_sid>/RateLimits")
def list_rate_limits(service_sid):
    wanted = paging.requested()
    rows = core().rate_limits.list(service_sid, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("rate_limits", f"Services/{service_sid}/RateLimits", rows, rate_limit_json,
                                 wanted))


@bp.get("/Services/<service_sid>/RateLimits/<sid>")
def fetch_rate_limit(service_sid, sid):
    return jsonify(rate_limit_json(core().rate_limits.get(service_sid, sid)))


@bp.post("/Services/<service_sid>/RateLimits/<sid>")
def update_rate_limit(service_sid, sid):
    values = forms.form({"Description"})
    description = _description(values)
    if "Description" not in values:
        return fetch_rate_limit(service_sid, sid)
    return jsonify(rate_limit_json(core().rate_limits.update(service_sid, sid, description)))


@bp.delete("/Services/<service_sid>/RateLimits/<sid>")
def delete_rate_limit(service_sid, sid):
    core().rate_limits.delete(service_sid, sid)
    return "", 204


# -- buckets ---------------------------------------------------------------------------------

@bp.post("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets")
def create_bucket(service_sid, rate_limit_sid):
    max_, interval = _bucket_values(forms.form({"Max", "Interval"}), creating=True)
    created = core().rate_limits.create_bucket(service_sid, rate_limit_sid, max_, interval)
    return jsonify(bucket_json(service_sid, created)), 201


@bp.get("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets")
def list_buckets(service_sid, rate_limit_sid):
    wanted = paging.requested()
    rows = core().rate_limits.buckets(service_sid, rate_limit_sid, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("buckets", f"Services/{bucket_path(service_sid, rate_limit_sid)}", rows,
                                 lambda b: bucket_json(service_sid, b), wanted))


@bp.get("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets/<sid>")
def fetch_bucket(service_sid, rate_limit_sid, sid):
    return jsonify(bucket_json(service_sid, core().rate_limits.bucket(service_sid, rate_limit_sid, sid)))


@bp.post("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets/<sid>")
def update_bucket(service_sid, rate_limit_sid, sid):
    max_, interval = _bucket_values(forms.form({"Max", "Interval"}), creating=False)
    updated = core().rate_limits.update_bucket(service_sid, rate_limit_sid, sid, max_, interval)
    return jsonify(bucket_json(service_sid, updated))


@bp.delete("/Services/<service_sid>/RateLimits/<rate_limit_sid>/Buckets/<sid>")
def delete_bucket(service_sid, rate_limit_sid, sid):
    core().rate_limits.delete_bucket(service_sid, rate_limit_sid, sid)
    return "", 204
