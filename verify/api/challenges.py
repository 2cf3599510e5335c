"""/v2/Services/{sid}/Entities/{identity}/Challenges: Verify's Challenge resource, for TOTP factors
and telverify's phone factors (verify/methods/challenges.py decides; this module reads the
parameters and answers JSON)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import jsonify, request

from .. import sids
from ..core import core
from ..errors import invalid
from ..methods.model import Challenge
from . import bp, forms, paging, render
from .entities import entity_path
from .factors import auth_payload

STATUSES = ("pending", "expired", "approved", "denied")
CREATE = frozenset({"FactorSid", "ExpirationDate", "Details.Message", "Details.Fields", "HiddenDetails", "AuthPayload",
                    "Channel"})
MESSAGE_LENGTH, MAX_FIELDS, LABEL_LENGTH, VALUE_LENGTH, HIDDEN_LENGTH = 256, 20, 36, 128, 1024


def challenge_json(challenge: Challenge) -> dict:
    entity = challenge.entity
    url = render.resource_url(f"{entity_path(entity)}/Challenges/{challenge.sid}")
    body = {
        "sid": challenge.sid,
        "account_sid": render.account_sid(),
        "service_sid": entity.service_sid,
        "entity_sid": entity.sid,
        "identity": entity.identity,
        "factor_sid": challenge.factor_sid,
        "date_created": render.iso(challenge.created),
        "date_updated": render.iso(challenge.updated),
        "date_responded": render.iso(challenge.responded),
        "expiration_date": render.iso(challenge.expires),
        "status": challenge.status,
        "responded_reason": "none",
        "details": challenge.details,
        "hidden_details": challenge.hidden_details,
        "metadata": None,
        "factor_type": challenge.factor_type,
        "url": url,
        "links": {"notifications": f"{url}/Notifications"},
    }
    if challenge.factor_type == "phone":
        # telverify: the channel of the verification the challenge started, and its sid
        body.update(channel=challenge.channel, verification_sid=challenge.verification_sid)
    return body


def _expiration(values: dict) -> float | None:
    raw = values.get("ExpirationDate")
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise invalid("Invalid parameter `ExpirationDate`: an ISO 8601 date-time such as "
                      "2030-01-31T10:05:00Z.") from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _details(values: dict) -> dict | None:
    """Details.Message and Details.Fields (each a JSON {"label", "value"}), as Verify keeps them."""
    message = forms.text(values, "Details.Message", MESSAGE_LENGTH)
    fields = []
    for raw in request.form.getlist("Details.Fields") if "Details.Fields" in values else ():
        try:
            field = json.loads(raw) if len(raw) <= 1024 else None
        except (ValueError, RecursionError):
            field = None
        if not (isinstance(field, dict) and set(field) == {"label", "value"}
                and all(isinstance(v, str) for v in field.values())
                and len(field["label"]) <= LABEL_LENGTH and len(field["value"]) <= VALUE_LENGTH):
            raise invalid(f'Invalid parameter `Details.Fields`: each a JSON object {{"label": ..., "value": ...}}, a '
                          f"label of up to {LABEL_LENGTH} characters and a value of up to {VALUE_LENGTH}.")
        fields.append(field)
    if len(fields) > MAX_FIELDS:
        raise invalid(f"Invalid parameter `Details.Fields`: at most {MAX_FIELDS} fields.")
    if message is None and not fields:
        return None
    return {"message": message, "date": None, "fields": fields}


def _hidden_details(values: dict) -> dict | None:
    raw = values.get("HiddenDetails")
    if raw is not None and len(raw) > HIDDEN_LENGTH:
        raise invalid(f"Invalid parameter `HiddenDetails`: at most {HIDDEN_LENGTH} characters.")
    return forms.json_object(values, "HiddenDetails", lambda key, value: isinstance(value, str),
                             'a JSON object of up to 10 string values, such as {"ip": "172.168.1.234"}.')


@bp.post("/Services/<service_sid>/Entities/<identity>/Challenges")
def create_challenge(service_sid, identity):
    values = forms.form(CREATE)
    factor_sid = forms.text(values, "FactorSid", 34, required=True)
    if not sids.is_sid(factor_sid, sids.FACTOR):
        raise invalid("Invalid parameter `FactorSid`: a factor's sid (YF followed by 32 hex digits).")
    challenge = core().methods.challenges.create(service_sid, identity, factor_sid, auth_payload(values),
                                                 _expiration(values), _details(values), _hidden_details(values),
                                                 forms.text(values, "Channel", 20))
    return jsonify(challenge_json(challenge)), 201


@bp.get("/Services/<service_sid>/Entities/<identity>/Challenges/<sid>")
def fetch_challenge(service_sid, identity, sid):
    return jsonify(challenge_json(core().methods.challenges.get(service_sid, identity, sid)))


@bp.post("/Services/<service_sid>/Entities/<identity>/Challenges/<sid>")
def update_challenge(service_sid, identity, sid):
    values = forms.form({"AuthPayload"}, {"Metadata"})
    challenge = core().methods.challenges.update(service_sid, identity, sid,
                                                 auth_payload(values, required=True, longest=10))
    return jsonify(challenge_json(challenge))


@bp.get("/Services/<service_sid>/Entities/<identity>/Challenges")
def list_challenges(service_sid, identity):
    wanted = paging.requested()
    args = request.args
    factor_sid, status, order = args.get("FactorSid"), args.get("Status"), args.get("Order", "asc")
    if factor_sid is not None and not sids.is_sid(factor_sid, sids.FACTOR):
        raise invalid("Invalid parameter `FactorSid`: a factor's sid (YF followed by 32 hex digits).")
    if status is not None and status not in STATUSES:
        raise invalid(f"Invalid parameter `Status`: one of {', '.join(STATUSES)}.")
    if order not in ("asc", "desc"):
        raise invalid("Invalid parameter `Order`: asc or desc.")
    rows = core().methods.challenges.list(service_sid, identity, factor_sid, status, order == "desc",
                                          wanted.offset, wanted.size + 1)
    filters = {name: value for name, value in (("FactorSid", factor_sid), ("Status", status),
                                               ("Order", args.get("Order"))) if value is not None}
    return jsonify(paging.answer("challenges", f"Services/{service_sid}/Entities/{identity}/Challenges", rows,
                                 challenge_json, wanted, filters=filters))
