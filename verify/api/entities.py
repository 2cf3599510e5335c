"""/v2/Services/{sid}/Entities: Verify's Entity resource (verify/methods/entities.py decides; this
module reads the parameters and answers JSON)."""
from __future__ import annotations

from flask import jsonify

from ..core import core
from ..methods.model import Entity
from . import bp, forms, paging, render


def entity_path(entity: Entity) -> str:
    return f"Services/{entity.service_sid}/Entities/{entity.identity}"


def entity_json(entity: Entity) -> dict:
    base = entity_path(entity)
    return {
        "sid": entity.sid,
        "identity": entity.identity,
        "account_sid": render.account_sid(),
        "service_sid": entity.service_sid,
        "date_created": render.iso(entity.created),
        "date_updated": render.iso(entity.updated),
        "url": render.resource_url(base),
        "links": {"factors": render.resource_url(f"{base}/Factors"),
                  "challenges": render.resource_url(f"{base}/Challenges")},
        # telverify: the factor an application offers first; the first verified one until changed
        "default_factor_sid": entity.default_factor_sid,
    }


@bp.post("/Services/<service_sid>/Entities")
def create_entity(service_sid):
    values = forms.form({"Identity"})
    identity = forms.text(values, "Identity", 64, required=True)
    return jsonify(entity_json(core().methods.entities.create(service_sid, identity))), 201


@bp.get("/Services/<service_sid>/Entities/<identity>")
def fetch_entity(service_sid, identity):
    return jsonify(entity_json(core().methods.entities.get(service_sid, identity)))


@bp.post("/Services/<service_sid>/Entities/<identity>")
def update_entity(service_sid, identity):
    """telverify's: `DefaultFactorSid` names the entity's default factor (a verified one)."""
    values = forms.form({"DefaultFactorSid"})
    factor_sid = forms.text(values, "DefaultFactorSid", 34, required=True)
    return jsonify(entity_json(core().methods.entities.set_default_factor(service_sid, identity, factor_sid)))


@bp.delete("/Services/<service_sid>/Entities/<identity>")
def delete_entity(service_sid, identity):
    core().methods.entities.delete(service_sid, identity)
    return "", 204


@bp.get("/Services/<service_sid>/Entities")
def list_entities(service_sid):
    wanted = paging.requested()
    rows = core().methods.entities.list(service_sid, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("entities", f"Services/{service_sid}/Entities", rows, entity_json, wanted))


