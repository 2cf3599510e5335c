"""/admin/Services/{sid}/BlockedNumbers: any account's service's block list, answered as /v2
answers its own (verify/api/blocked.py)."""
from __future__ import annotations

from flask import jsonify

from ..api import blocked
from ..core import core
from . import bp
from .audited import acting_on, acting_on_number


@bp.get("/Services/<service_sid>/BlockedNumbers")
def list_blocked(service_sid):
    acting_on("block.list").service(service_sid)
    return jsonify(blocked.page(service_sid, "admin"))


@bp.post("/Services/<service_sid>/BlockedNumbers")
def add_blocked(service_sid):
    subject = acting_on("block.add")
    subject.service(service_sid)
    number, days = blocked.requested_block(service_sid)
    return blocked.block(service_sid, subject.number(number), days, "admin")


@bp.get("/Services/<service_sid>/BlockedNumbers/<number>")
def fetch_blocked(service_sid, number):
    e164 = acting_on_number("block.fetch", service_sid, number)
    return blocked.fetch(service_sid, e164, "admin")


@bp.delete("/Services/<service_sid>/BlockedNumbers/<number>")
def remove_blocked(service_sid, number):
    e164 = acting_on_number("block.remove", service_sid, number)
    core().services.unblock(service_sid, e164)
    return "", 204
