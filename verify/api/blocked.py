"""/v2/Services/{sid}/BlockedNumbers: telverify's block list. A fraud report on an approve
call adds the number for 90 days; a help desk lists, adds and removes numbers here (for
example to clear a person's old number before it is reassigned). /admin answers the same
(verify/admin/blocked.py) through the functions below, with its own URLs."""
from __future__ import annotations

from urllib.parse import quote

from flask import jsonify

from .. import phone
from ..core import core
from . import bp, forms, paging, render


def _render(service_sid: str, number: str, until: float, root: str) -> dict:
    return {
        "phone_number": number,
        "service_sid": service_sid,
        "date_blocked_until": render.iso(until),
        "url": render.resource_url(f"Services/{service_sid}/BlockedNumbers/{quote(number)}", root),
    }


def page(service_sid: str, root: str = "v2") -> dict:
    """The page of the service's block list the request asks for, its URLs under `root`."""
    wanted = paging.requested()
    rows = core().services.blocked_numbers(service_sid, wanted.offset, wanted.size + 1)
    return paging.answer("blocked_numbers", f"Services/{service_sid}/BlockedNumbers", rows,
                         lambda row: _render(service_sid, *row, root), wanted, root)


def requested_block(service_sid: str) -> tuple[str, int | None]:
    """The number (E.164) and the days a POST asks to block it for (None: a fraud report's). The
    caller has answered an unknown service's 404 already (/v2's owner check, /admin's subject)."""
    values = forms.form({"PhoneNumber", "Days"})
    number = phone.parse(forms.text(values, "PhoneNumber", 64, required=True)).e164
    return number, forms.integer(values, "Days", 1, 3650)


def block(service_sid: str, number: str, days: int | None, root: str = "v2"):
    until = core().services.block(service_sid, number, days * 86400 if days else None)
    return jsonify(_render(service_sid, number, until, root)), 201


def fetch(service_sid: str, number: str, root: str = "v2"):
    return jsonify(_render(service_sid, number, core().services.blocked_until(service_sid, number), root))


@bp.get("/Services/<service_sid>/BlockedNumbers")
def list_blocked(service_sid):
    return jsonify(page(service_sid))


@bp.post("/Services/<service_sid>/BlockedNumbers")
def add_blocked(service_sid):
    return block(service_sid, *requested_block(service_sid))


@bp.get("/Services/<service_sid>/BlockedNumbers/<number>")
def fetch_blocked(service_sid, number):
    return fetch(service_sid, phone.normalize(number))


@bp.delete("/Services/<service_sid>/BlockedNumbers/<number>")
def remove_blocked(service_sid, number):
    core().services.unblock(service_sid, phone.normalize(number))
    return "", 204
