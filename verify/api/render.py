"""JSON bodies shaped as Verify v2 answers them."""
from __future__ import annotations

import functools
import time

from flask import request

from ..core import core
from ..model import PROTECTION_FIELDS, CheckedVerification, Verification

ISO8601 = "%Y-%m-%dT%H:%M:%SZ"


def iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else _iso_second(int(float(timestamp)))


@functools.lru_cache(maxsize=256)
def _iso_second(second: int) -> str:
    # An answer's dates are mostly now and now plus a lifetime, the same few seconds for every
    # request of a busy second: each is formatted once.
    return time.strftime(ISO8601, time.gmtime(second))


def account_sid() -> str:
    """The caller's account, which owns every resource it can reach (verify/accounts.py)."""
    return request.account_sid


def resource_url(path: str, root: str = "v2") -> str:
    return f"{core().settings.signature_base_url}/{root}/{path}"


def service(data: dict) -> dict:
    sid = data["sid"]
    base = f"Services/{sid}"
    return {
        "sid": sid,
        "account_sid": data["account_sid"],
        "friendly_name": data["friendly_name"],
        "code_length": data["code_length"],
        "lookup_enabled": data["lookup_enabled"],
        "psd2_enabled": False,
        "skip_sms_to_landlines": data["skip_sms_to_landlines"],
        "dtmf_input_required": data["dtmf_input_required"],
        "tts_name": data["tts_name"],
        "do_not_share_warning_enabled": data["do_not_share_warning_enabled"],
        "custom_code_enabled": data["custom_code_enabled"],
        "push": {},
        "totp": {"issuer": data["totp_issuer"] or data["friendly_name"], "time_step": data["totp_time_step"],
                 "code_length": data["totp_code_length"], "skew": data["totp_skew"]},
        "whatsapp": {}, "passkeys": {},
        "default_template_sid": None,
        "verify_event_subscription_enabled": False,
        "code_expiry_seconds": data["code_expiry_seconds"],  # telverify: per-service code lifetime
        # telverify: abuse-protection overrides of this service (null: the deployment's setting)
        **{name: data[name] for name in PROTECTION_FIELDS},
        "date_created": iso(data["date_created"]),
        "date_updated": iso(data["date_updated"]),
        "url": resource_url(base),
        "links": {
            "verifications": resource_url(f"{base}/Verifications"),
            "verification_checks": resource_url(f"{base}/VerificationCheck"),
        },
    }


def _common(v: CheckedVerification) -> dict:
    """The fields a Verification and a VerificationCheck share, in Verify's order."""
    return {
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": account_sid(),
        "to": v.to,
        "channel": v.channel,
        "status": v.status,
        "valid": v.status == "approved",
    }


def verification(v: Verification) -> dict:
    return {
        **_common(v),
        "lookup": {},
        "amount": None,
        "payee": None,
        "send_code_attempts": [
            {"attempt_sid": a.sid, "channel": a.channel, "time": iso(a.time),
             # telverify: what Twilio reported about delivering this attempt (a message's or a
             # call's status), and for calls who answered and how the call ended
             "delivery_status": a.delivery_status, "error_code": a.error_code,
             "call_sid": a.call_sid, "answered_by": a.answered_by, "outcome": a.outcome}
            for a in v.attempts
        ],
        "date_created": iso(v.created),
        "date_updated": iso(v.updated),
        "date_expires": iso(v.expires_at),  # telverify: when the code stops being accepted
        "call_outcome": v.call_outcome,  # telverify: how the latest call ended (docs/calls.md)
        "fraud_reported": v.fraud_reported,  # telverify: the person reported it on an approve call
        "sna": None,
        "url": resource_url(f"Services/{v.service_sid}/Verifications/{v.sid}"),
    }


def verification_check(v: CheckedVerification) -> dict:
    return {
        **_common(v),
        "amount": None,
        "payee": None,
        "date_created": iso(v.created),
        "date_updated": iso(v.updated),
        "sna_attempts_error_codes": [],
    }
