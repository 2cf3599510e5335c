"""/admin/Services/{sid}/Lockouts/{number}: a number's lockout after too many wrong codes, read
and cleared by a help desk (verify/lockouts.py)."""
from __future__ import annotations

from urllib.parse import quote

from flask import jsonify

from ..api import render
from ..core import core
from . import bp
from .audited import acting_on_number


@bp.get("/Services/<service_sid>/Lockouts/<number>")
def fetch_lockout(service_sid, number):
    e164 = acting_on_number("lockout.fetch", service_sid, number)
    lockout = core().lockouts.get(service_sid, e164)
    return jsonify({
        "account_sid": lockout.account_sid,
        "service_sid": lockout.service_sid,
        "phone_number": lockout.phone_number,
        "locked_until": render.iso(lockout.locked_until),
        "failed_checks": lockout.failed_checks,
        "url": render.resource_url(f"Services/{service_sid}/Lockouts/{quote(lockout.phone_number)}", "admin"),
    })


@bp.delete("/Services/<service_sid>/Lockouts/<number>")
def clear_lockout(service_sid, number):
    e164 = acting_on_number("lockout.clear", service_sid, number)
    core().lockouts.clear(service_sid, e164)
    return "", 204
