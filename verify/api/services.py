"""/v2/Services: create, fetch, list (Twilio-style pages), update, delete."""
from __future__ import annotations

from flask import jsonify, request

from ..core import core
from ..errors import invalid
from ..model import SERVICE_DEFAULTS
from ..protection import ceiling, rules
from . import bp, forms, paging, render

# telverify's abuse-protection overrides: Service parameter -> (field, parser of its value).
PROTECTION = {
    **{"Limit" + name.title().replace("_", ""): (field, rules.parse_limit)
       for field, name in rules.SERVICE_LIMIT_FIELDS.items()},
    "AllowedCountries": ("allowed_countries", rules.AllowedCountries.parse),
}
SETTINGS = {"FriendlyName", "CodeLength", "LookupEnabled", "SkipSmsToLandlines", "DtmfInputRequired", "TtsName",
            "DoNotShareWarningEnabled", "CustomCodeEnabled", "CodeExpirySeconds", "Totp.Issuer", "Totp.TimeStep",
            "Totp.CodeLength", "Totp.Skew", *PROTECTION}
UNSUPPORTED = {"Psd2Enabled", "Push.IncludeDate", "Push.ApnCredentialSid", "Push.FcmCredentialSid",
               "DefaultTemplateSid", "Whatsapp.MsgServiceSid", "Whatsapp.From", "Passkeys.RelyingParty.Id",
               "Passkeys.RelyingParty.Name",
               "Passkeys.RelyingParty.Origins", "Passkeys.AuthenticatorAttachment",
               "Passkeys.DiscoverableCredentials", "Passkeys.UserVerification", "VerifyEventSubscriptionEnabled"}


def _settings_from(values: dict, creating: bool) -> dict:
    out = {
        "friendly_name": forms.display_name(values, "FriendlyName", required=creating),
        "code_length": forms.integer(values, "CodeLength", 4, 10),
        "code_expiry_seconds": forms.integer(values, "CodeExpirySeconds", 30, 86400),
        "tts_name": forms.text(values, "TtsName", 64),
        # TOTP factors' defaults, within Verify's ranges (a factor's Config.* overrides them)
        "totp_issuer": forms.display_name(values, "Totp.Issuer"),
        "totp_time_step": forms.integer(values, "Totp.TimeStep", 20, 60),
        "totp_code_length": forms.integer(values, "Totp.CodeLength", 3, 8),
        "totp_skew": forms.integer(values, "Totp.Skew", 0, 2),
    }
    for param, name in (("LookupEnabled", "lookup_enabled"), ("SkipSmsToLandlines", "skip_sms_to_landlines"),
                        ("DtmfInputRequired", "dtmf_input_required"), ("CustomCodeEnabled", "custom_code_enabled"),
                        ("DoNotShareWarningEnabled", "do_not_share_warning_enabled")):
        out[name] = forms.boolean(values, param)
    for param, (name, parse) in PROTECTION.items():
        value = forms.text(values, param, 400)
        if value is None:
            continue
        value = value.strip()
        if value.lower() == "default":  # back to the deployment's setting
            out[name] = ""
            continue
        try:
            parsed = parse(value)
        except ValueError:
            raise invalid(f"Invalid parameter `{param}`: '{value[:60]}' is not "
                          + ("a list of ISO countries (US) or calling codes (44), or *" if param == "AllowedCountries"
                             else "a limit like '10 per 10 minutes; 30 per day', or 'unlimited'")
                          + "; 'default' restores the deployment's setting.") from None
        # A service may only narrow the deployment's settings (protection/ceiling.py).
        why = ceiling.refusal(core().settings, name, parsed)
        if why:
            raise invalid(f"Invalid parameter `{param}`: '{value[:60]}' {why}; 'default' restores the "
                          "deployment's setting.")
        out[name] = value
    return {name: value for name, value in out.items() if value is not None}


@bp.post("/Services")
def create_service():
    settings = {**SERVICE_DEFAULTS, **_settings_from(forms.form(SETTINGS, UNSUPPORTED), creating=True)}
    return jsonify(render.service(core().services.create(request.account_sid, settings))), 201


@bp.get("/Services/<service_sid>")
def fetch_service(service_sid):
    return jsonify(render.service(core().services.get(service_sid)))


@bp.post("/Services/<service_sid>")
def update_service(service_sid):
    changes = _settings_from(forms.form(SETTINGS, UNSUPPORTED), creating=False)
    return jsonify(render.service(core().services.update(service_sid, changes)))


@bp.delete("/Services/<service_sid>")
def delete_service(service_sid):
    core().services.delete(service_sid)
    core().methods.entities.forget_service(service_sid)  # with their factors and challenges
    return "", 204


@bp.get("/Services")
def list_services():
    wanted = paging.requested()
    rows = core().services.list(request.account_sid, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("services", "Services", rows, render.service, wanted))
