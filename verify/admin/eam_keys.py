"""/admin/Eam/Keys: the keys telverify signs Entra External MFA's id_tokens with (verify/eam/keys.py),
as published in the JWKS, and their rollover, for an operator: the same as `python -m
verify.eam.keys list` and `rollover`, audited. Only public facts answer: a kid and its times, never
a key, sealed or not."""
from __future__ import annotations

import time

from flask import jsonify

from .. import errors
from ..api import forms, render
from ..core import core
from ..eam.keys import SigningKey, SigningKeys
from . import bp
from .audited import acting_on


def _keys() -> SigningKeys:
    eam = core().eam
    if eam is None:
        raise errors.not_found("Entra External MFA is off here: it needs EAM_CLIENT_ID and EAM_TENANTS")
    return eam.keys


def _key(key: SigningKey, signing_kid: str) -> dict:
    return {
        "kid": key.kid,
        "date_created": render.iso(key.created),
        "active_from": render.iso(key.signs_from),  # when it starts signing
        "retire_at": render.iso(key.dropped_at),  # when it leaves the JWKS; null: not planned
        "signing": key.kid == signing_kid,
    }


def _listing(keys: SigningKeys, now: float) -> dict:
    published = keys.published(now)
    signing = keys.current(now).kid
    return {"keys": [_key(key, signing) for key in published], "url": render.resource_url("Eam/Keys", "admin")}


@bp.get("/Eam/Keys")
def list_eam_keys():
    acting_on("eam.keys.list")
    return jsonify(_listing(_keys(), time.time()))


@bp.post("/Eam/Keys/Rollover")
def roll_over_eam_keys():
    acting_on("eam.keys.rollover")
    forms.form(set())  # it takes no parameter: any is refused by name
    keys, now = _keys(), time.time()
    outcome, kid, signs_from = keys.roll_over(now)
    if outcome == "pending":
        raise errors.VerifyError(errors.CONFLICT, f"A rollover is under way: key {kid} starts signing at "
                                 f"{render.iso(signs_from)}; roll over again after that", 409)
    return jsonify(_listing(keys, now)), 201
