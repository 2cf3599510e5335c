"""/v2/Services/{sid}/BlockedNumbers: telverify's block list. A fraud report on an approve
call adds the number for 90 days; a help desk lists, adds and removes numbers here (for
example to clear a person's old number before it is reassigned)."""
from __future__ import annotations

import time
from urllib.parse import quote

from flask import current_app, jsonify

from .. import errors, phone
from ..store import FRAUD_BLOCK_SECONDS
from . import bp, forms, paging, render


def _flows():
    return current_app.extensions["telverify"]


def _render(service_sid: str, number: str, until: float) -> dict:
    return {
        "phone_number": number,
        "service_sid": service_sid,
        "date_blocked_until": render.iso(until),
        "url": render.resource_url(f"Services/{service_sid}/BlockedNumbers/{quote(number)}"),
    }


def _blocked_until(service_sid: str, number: str) -> float | None:
    seconds = _flows().store.blocked_seconds(service_sid, number)
    return time.time() + seconds if seconds else None


@bp.get("/Services/<service_sid>/BlockedNumbers")
def list_blocked(service_sid):
    wanted = paging.requested()
    _flows().service(service_sid)
    rows = _flows().store.blocked_numbers(service_sid, time.time(), wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("blocked_numbers", f"Services/{service_sid}/BlockedNumbers", rows,
                                 lambda row: _render(service_sid, *row), wanted))


@bp.post("/Services/<service_sid>/BlockedNumbers")
def add_blocked(service_sid):
    values = forms.form({"PhoneNumber", "Days"})
    _flows().service(service_sid)
    number = phone.parse(forms.text(values, "PhoneNumber", 64, required=True)).e164
    days = forms.integer(values, "Days", 1, 3650)
    seconds = days * 86400 if days else FRAUD_BLOCK_SECONDS
    _flows().store.block(service_sid, number, time.time(), seconds)
    return jsonify(_render(service_sid, number, time.time() + seconds)), 201


@bp.get("/Services/<service_sid>/BlockedNumbers/<number>")
def fetch_blocked(service_sid, number):
    _flows().service(service_sid)
    e164 = phone.normalize(number)
    until = _blocked_until(service_sid, e164)
    if until is None:
        raise errors.not_found(f"{phone.mask(e164)} is not blocked on service {service_sid}.")
    return jsonify(_render(service_sid, e164, until))


@bp.delete("/Services/<service_sid>/BlockedNumbers/<number>")
def remove_blocked(service_sid, number):
    _flows().service(service_sid)
    e164 = phone.normalize(number)
    if not _flows().store.unblock(service_sid, e164):
        raise errors.not_found(f"{phone.mask(e164)} is not blocked on service {service_sid}.")
    return "", 204
