"""/v2/Services/{sid}/BlockedNumbers: telverify's block list. A fraud report on an approve
call adds the number for 90 days; a help desk lists, adds and removes numbers here (for
example to clear a person's old number before it is reassigned)."""
from __future__ import annotations

import time
from urllib.parse import quote

from flask import current_app, jsonify, request

from .. import errors, phone
from ..store import FRAUD_BLOCK_SECONDS
from . import bp, forms, render


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
    seconds = _flows().store.number_state(service_sid, number, time.time())[0]
    return time.time() + seconds if seconds else None


@bp.get("/Services/<service_sid>/BlockedNumbers")
def list_blocked(service_sid):
    _flows().service(service_sid)
    page_size = forms.integer(request.args, "PageSize", 1, 1000) or 50
    page = forms.integer(request.args, "Page", 0, 10**6) or 0
    rows = _flows().store.blocked_numbers(service_sid, time.time(), page * page_size, page_size + 1)
    base = f"Services/{service_sid}/BlockedNumbers?PageSize={page_size}&Page="
    return jsonify({
        "blocked_numbers": [_render(service_sid, number, until) for number, until in rows[:page_size]],
        "meta": {"page": page, "page_size": page_size, "key": "blocked_numbers",
                 "first_page_url": render.resource_url(base + "0"),
                 "previous_page_url": render.resource_url(base + str(page - 1)) if page else None,
                 "url": render.resource_url(base + str(page)),
                 "next_page_url": render.resource_url(base + str(page + 1)) if len(rows) > page_size else None},
    })


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
