"""/v2/Services/{sid}/Verifications and /VerificationCheck."""
from __future__ import annotations

import json
import re

from flask import jsonify

from ..core import core
from ..errors import invalid
from ..verifications import StartRequest
from . import bp, forms, render

START = {"To", "Channel", "Locale", "CustomFriendlyName", "CustomCode", "SendDigits", "Tags", "RateLimits"}
START_UNSUPPORTED = {"CustomMessage", "Amount", "Payee", "ChannelConfiguration", "AppHash",
                     "TemplateSid", "TemplateCustomSubstitutions", "DeviceIp", "EnableSnaClientToken", "RiskCheck"}
CHECK = {"Code", "To", "VerificationSid"}
CHECK_UNSUPPORTED = {"Amount", "Payee", "SnaClientToken"}
VERIFY_CHANNELS = {"sms", "call", "call_approve", "email", "whatsapp", "sna", "auto", "rbm"}


def _tags(values: dict) -> str | None:
    tags = forms.json_object(values, "Tags", lambda k, v: isinstance(v, str) and len(k) <= 128 and len(v) <= 128,
                             "a JSON object of at most 10 string keys and values, each up to 128 characters.")
    return None if tags is None else json.dumps(tags, separators=(",", ":"))


def _rate_limits(values: dict) -> dict[str, str] | None:
    limits = forms.json_object(values, "RateLimits", lambda k, v: isinstance(v, (str, int)) and 0 < len(k) <= 255,
                               "a JSON object mapping rate limit unique names to the value to count, e.g. "
                               '{"end_user_ip_address": "203.0.113.7"}.')
    return None if limits is None else {k: str(v) for k, v in limits.items()}


def _send_digits(raw: str | None, channel: str) -> str | None:
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9#*wW]{1,32}", raw):
        raise invalid("Invalid parameter `SendDigits`: up to 32 of the characters 0-9 # * w W.")
    if channel == "sms":
        raise invalid("Invalid parameter `SendDigits`: digits are dialled only on calls, not with Channel=sms.")
    return raw


@bp.post("/Services/<service_sid>/Verifications")
def create_verification(service_sid):
    values = forms.form(START, START_UNSUPPORTED)
    channel = forms.text(values, "Channel", 20, required=True).strip().lower()
    if channel not in VERIFY_CHANNELS:
        raise invalid(f"Invalid parameter `Channel`: '{channel}' is not a channel; telverify sends "
                      f"{', '.join(sorted(core().channels))}.")
    request = StartRequest(
        to=forms.text(values, "To", 64, required=True),
        channel=channel,
        locale=forms.text(values, "Locale", 20),
        custom_friendly_name=forms.display_name(values, "CustomFriendlyName"),
        custom_code=values.get("CustomCode"),
        send_digits=_send_digits(values.get("SendDigits"), channel),
        tags=_tags(values),
        rate_limits=_rate_limits(values),
    )
    verification, _ = core().verifications.start(service_sid, request)
    return jsonify(render.verification(verification)), 201


@bp.get("/Services/<service_sid>/Verifications/<sid>")
def fetch_verification(service_sid, sid):
    return jsonify(render.verification(core().verifications.fetch(service_sid, sid)))


@bp.post("/Services/<service_sid>/Verifications/<sid>")
def update_verification(service_sid, sid):
    values = forms.form({"Status"})
    status = forms.text(values, "Status", 20, required=True)
    if status not in ("canceled", "approved"):
        raise invalid("Invalid parameter `Status`: it must be canceled or approved.")
    return jsonify(render.verification(core().verifications.set_status(service_sid, sid, status)))


@bp.post("/Services/<service_sid>/VerificationCheck")
def check_verification(service_sid):
    values = forms.form(CHECK, CHECK_UNSUPPORTED)
    verification = core().verifications.check(service_sid, (values.get("Code") or "").strip(),
                                  to=forms.text(values, "To", 64), sid=forms.text(values, "VerificationSid", 34))
    return jsonify(render.verification_check(verification))
