"""/admin/Services/{sid}/Entities/{identity}: a person's sign-in methods as a help desk sees
them (verify/methods/helpdesk.py): the entity, its default factor and its factors, never a seed,
phone numbers masked; a lost factor removed; the lockouts of their phone numbers cleared."""
from __future__ import annotations

from flask import jsonify

from ..api import render
from ..core import core
from ..methods.helpdesk import FactorSummary
from . import bp
from .audited import acting_on


def _path(service_sid: str, identity: str) -> str:
    return f"Services/{service_sid}/Entities/{identity}"


def _factor(factor: FactorSummary, default_sid: str | None) -> dict:
    return {
        "sid": factor.sid,
        "factor_type": factor.factor_type,
        "friendly_name": factor.friendly_name,
        "status": factor.status,
        "default": factor.sid == default_sid,
        "date_created": render.iso(factor.created),
        "date_updated": render.iso(factor.updated),
        # A phone factor's: which phone it is and how to reach it, its number masked.
        "phone": None if factor.phone_number is None else {
            "kind": factor.kind, "channel": factor.channel, "phone_number": factor.phone_number,
            "extension": factor.extension},
    }


@bp.get("/Services/<service_sid>/Entities/<identity>")
def fetch_person(service_sid, identity):
    subject = acting_on("entity.fetch")
    subject.entity(service_sid, identity)
    person = core().help_desk.person(service_sid, identity)
    entity, path = person.entity, _path(service_sid, identity)
    return jsonify({
        "sid": entity.sid,
        "account_sid": subject.account_sid,
        "service_sid": service_sid,
        "identity": identity,
        "default_factor_sid": entity.default_factor_sid,
        "date_created": render.iso(entity.created),
        "date_updated": render.iso(entity.updated),
        "factors": [_factor(factor, entity.default_factor_sid) for factor in person.factors],
        "url": render.resource_url(path, "admin"),
        "links": {"lockouts": render.resource_url(f"{path}/Lockouts", "admin")},
    })


@bp.delete("/Services/<service_sid>/Entities/<identity>/Factors/<factor_sid>")
def delete_factor(service_sid, identity, factor_sid):
    acting_on("factor.delete").entity(service_sid, identity)
    core().help_desk.delete_factor(service_sid, identity, factor_sid)
    return "", 204


@bp.delete("/Services/<service_sid>/Entities/<identity>/Lockouts")
def clear_lockouts(service_sid, identity):
    subject = acting_on("entity.lockouts.clear")
    subject.entity(service_sid, identity)
    cleared = core().help_desk.clear_lockouts(service_sid, identity)
    return jsonify({
        "account_sid": subject.account_sid,
        "service_sid": service_sid,
        "identity": identity,
        "phone_numbers": [{"phone_number": number.phone_number, "factor_sids": number.factor_sids,
                           "was_locked": number.was_locked} for number in cleared],
    })
