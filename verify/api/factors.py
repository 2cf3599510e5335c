"""/v2/Services/{sid}/Entities/{identity}/Factors: Verify's Factor resource, of type `totp`, and
telverify's `phone` (verify/methods/factors.py decides; this module reads the parameters and
answers JSON)."""
from __future__ import annotations

from flask import jsonify

from ..core import core
from ..errors import invalid
from ..methods import totp
from ..methods.model import Factor
from . import bp, forms, paging, render
from .entities import entity_path

TOTP_CONFIG = {"Config.TimeStep", "Config.Skew", "Config.CodeLength", "Config.Alg"}
PHONE_BINDING = {"Binding.PhoneNumber", "Binding.Extension", "Config.Kind"}
PUSH_ONLY = {"Binding.Alg", "Binding.PublicKey", "Config.AppId", "Config.NotificationPlatform",
             "Config.NotificationToken", "Config.SdkVersion", "Metadata"}


def factor_json(factor: Factor) -> dict:
    entity = factor.entity
    body = {
        "sid": factor.sid,
        "account_sid": render.account_sid(),
        "service_sid": entity.service_sid,
        "entity_sid": entity.sid,
        "identity": entity.identity,
        "date_created": render.iso(factor.created),
        "date_updated": render.iso(factor.updated),
        "friendly_name": factor.friendly_name,
        "status": factor.status,
        "factor_type": factor.factor_type,
        "config": factor.config,
        "metadata": None,
        "url": render.resource_url(f"{entity_path(entity)}/Factors/{factor.sid}"),
    }
    if factor.binding is None:
        return body
    # A new factor: Verify's new_factor, with its binding (answered this once) and `options`.
    return {**{k: body[k] for k in ("sid", "account_sid", "service_sid", "entity_sid", "identity")},
            "binding": factor.binding, "options": None, **{k: v for k, v in body.items() if k not in (
                "sid", "account_sid", "service_sid", "entity_sid", "identity")}}


def _options(values: dict) -> dict:
    """A TOTP factor's Config.*, and a phone factor's Config.Channel (None: the service's, the
    kind's, or the factor's as it is)."""
    alg = values.get("Config.Alg")
    if alg is not None and alg not in totp.ALGORITHMS:
        raise invalid(f"Invalid parameter `Config.Alg`: one of {', '.join(totp.ALGORITHMS)}.")
    return {"time_step": forms.integer(values, "Config.TimeStep", 20, 60),
            "skew": forms.integer(values, "Config.Skew", 0, 2),
            "code_length": forms.integer(values, "Config.CodeLength", 3, 8),
            "alg": alg, "channel": forms.text(values, "Config.Channel", 20)}


def auth_payload(values: dict, required: bool = False, longest: int = 8) -> str | None:
    """`longest`: 10 where a phone challenge's code (a verification's, up to 10 digits) is tried."""
    code = values.get("AuthPayload")
    if code is None:
        if required:
            raise invalid("Missing required parameter `AuthPayload`: the code the authenticator app shows.")
        return None
    if not 3 <= len(code) <= longest:
        raise invalid(f"Invalid parameter `AuthPayload`: the code the authenticator app shows, 3 to {longest} "
                      "characters.")
    return code


@bp.post("/Services/<service_sid>/Entities/<identity>/Factors")
def create_factor(service_sid, identity):
    values = forms.form({"FriendlyName", "FactorType", "Binding.Secret", *TOTP_CONFIG, *PHONE_BINDING,
                         "Config.Channel"}, PUSH_ONLY)
    friendly_name = forms.display_name(values, "FriendlyName", required=True)
    factor_type = forms.text(values, "FactorType", 20, required=True)
    options = {**_options(values), "phone_number": forms.text(values, "Binding.PhoneNumber", 64),
               "extension": values.get("Binding.Extension"), "kind": forms.text(values, "Config.Kind", 20)}
    if "Binding.Secret" in values:
        options["secret"] = totp.parse_secret(values["Binding.Secret"])
        if options["secret"] is None:
            raise invalid(f"Invalid parameter `Binding.Secret`: a base32 secret of at least {totp.MIN_SECRET_BITS} "
                          "bits (26 characters of A-Z and 2-7); leave it out and telverify makes one.")
    factor = core().methods.factors.create(service_sid, identity, factor_type, friendly_name, options)
    return jsonify(factor_json(factor)), 201


@bp.get("/Services/<service_sid>/Entities/<identity>/Factors/<sid>")
def fetch_factor(service_sid, identity, sid):
    return jsonify(factor_json(core().methods.factors.get(service_sid, identity, sid)))


@bp.post("/Services/<service_sid>/Entities/<identity>/Factors/<sid>")
def update_factor(service_sid, identity, sid):
    values = forms.form({"AuthPayload", "FriendlyName", *TOTP_CONFIG, "Config.Channel"},
                        {"Config.NotificationToken", "Config.SdkVersion", "Config.NotificationPlatform"})
    factor = core().methods.factors.update(service_sid, identity, sid, forms.display_name(values, "FriendlyName"),
                                           _options(values), auth_payload(values))
    return jsonify(factor_json(factor))


@bp.delete("/Services/<service_sid>/Entities/<identity>/Factors/<sid>")
def delete_factor(service_sid, identity, sid):
    core().methods.factors.delete(service_sid, identity, sid)
    return "", 204


@bp.get("/Services/<service_sid>/Entities/<identity>/Factors")
def list_factors(service_sid, identity):
    wanted = paging.requested()
    rows = core().methods.factors.list(service_sid, identity, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("factors", f"Services/{service_sid}/Entities/{identity}/Factors", rows,
                                 factor_json, wanted))
