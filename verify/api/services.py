"""/v2/Services: create, fetch, list (Twilio-style pages), update, delete."""
from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from flask import current_app, jsonify, request

from .. import sids
from ..errors import invalid
from ..records import SERVICE_DEFAULTS
from . import bp, forms, render

SETTINGS = {"FriendlyName", "CodeLength", "LookupEnabled", "SkipSmsToLandlines", "DtmfInputRequired", "TtsName",
            "DoNotShareWarningEnabled", "CustomCodeEnabled", "CodeExpirySeconds"}
UNSUPPORTED = {"Psd2Enabled", "Push.IncludeDate", "Push.ApnCredentialSid", "Push.FcmCredentialSid", "Totp.Issuer",
               "Totp.TimeStep", "Totp.CodeLength", "Totp.Skew", "DefaultTemplateSid", "Whatsapp.MsgServiceSid",
               "Whatsapp.From", "Passkeys.RelyingParty.Id", "Passkeys.RelyingParty.Name",
               "Passkeys.RelyingParty.Origins", "Passkeys.AuthenticatorAttachment",
               "Passkeys.DiscoverableCredentials", "Passkeys.UserVerification", "VerifyEventSubscriptionEnabled"}


def _store():
    return current_app.extensions["telverify"].store


def _settings_from(values: dict, creating: bool) -> dict:
    out = {
        "friendly_name": forms.display_name(values, "FriendlyName", required=creating),
        "code_length": forms.integer(values, "CodeLength", 4, 10),
        "code_expiry_seconds": forms.integer(values, "CodeExpirySeconds", 30, 86400),
        "tts_name": forms.text(values, "TtsName", 64),
    }
    for param, name in (("LookupEnabled", "lookup_enabled"), ("SkipSmsToLandlines", "skip_sms_to_landlines"),
                        ("DtmfInputRequired", "dtmf_input_required"), ("CustomCodeEnabled", "custom_code_enabled"),
                        ("DoNotShareWarningEnabled", "do_not_share_warning_enabled")):
        out[name] = forms.boolean(values, param)
    return {name: value for name, value in out.items() if value is not None}


def _service_or_404(sid: str) -> dict:
    return current_app.extensions["telverify"].service(sid)


@bp.post("/Services")
def create_service():
    settings = {**SERVICE_DEFAULTS, **_settings_from(forms.form(SETTINGS, UNSUPPORTED), creating=True)}
    sid = sids.new_sid(sids.SERVICE)
    _store().create_service(sid, settings, time.time())
    return jsonify(render.service(_service_or_404(sid))), 201


@bp.get("/Services/<sid>")
def fetch_service(sid):
    return jsonify(render.service(_service_or_404(sid)))


@bp.post("/Services/<sid>")
def update_service(sid):
    changes = _settings_from(forms.form(SETTINGS, UNSUPPORTED), creating=False)
    _service_or_404(sid)
    if changes and not _store().update_service(sid, changes, time.time()):
        _service_or_404(sid)  # deleted meanwhile: answer its 404
    return jsonify(render.service(_service_or_404(sid)))


@bp.delete("/Services/<sid>")
def delete_service(sid):
    _service_or_404(sid)
    _store().delete_service(sid)
    return "", 204


@bp.get("/Services")
def list_services():
    page_size = forms.integer(request.args, "PageSize", 1, 1000) or 50
    page = forms.integer(request.args, "Page", 0, 10**6) or 0
    token = request.args.get("PageToken")
    offset = page * page_size
    if token:
        if not re.fullmatch(r"PT\d{1,9}", token):
            raise invalid("Invalid parameter `PageToken`: use the next_page_url of a previous page.")
        offset = int(token[2:])
    rows = _store().list_services(offset, page_size + 1)

    def page_url(number: int, start: int | None = None) -> str:
        query = {"PageSize": page_size, "Page": number}
        if start is not None:
            query["PageToken"] = f"PT{start}"
        return render.resource_url("Services?" + urlencode(query))

    return jsonify({
        "services": [render.service(row) for row in rows[:page_size]],
        "meta": {
            "page": page, "page_size": page_size, "key": "services",
            "first_page_url": page_url(0),
            "previous_page_url": page_url(page - 1, max(offset - page_size, 0)) if page > 0 else None,
            "url": page_url(page, offset if token else None),
            "next_page_url": page_url(page + 1, offset + page_size) if len(rows) > page_size else None,
        },
    })
