"""/admin/AuditLog: what admins did, newest first, in pages; filtered by `AccountSid`,
`ServiceSid`, `PhoneNumber` and `Identity` (verify/audit.py). Reading it is not itself written to it."""
from __future__ import annotations

from flask import jsonify, request

from .. import sids
from ..api import paging, render
from ..api.safe_list import number_to_find
from ..core import core
from ..errors import invalid
from ..methods.entities import valid_identity
from ..store.audit import AuditEntry
from . import bp


def _render(entry: AuditEntry) -> dict:
    return {
        "sid": entry.sid,
        "date_created": render.iso(entry.time),
        "admin_id": entry.admin_id,
        "action": entry.action,
        "status_code": entry.status,
        "account_sid": entry.account_sid,
        "service_sid": entry.service_sid,
        "phone_number": entry.phone_number,  # masked when it was stored
        "identity": entry.identity,
    }


def _sid(name: str, prefix: str) -> str | None:
    value = request.args.get(name)
    if value is not None and not sids.is_sid(value, prefix):
        raise invalid(f"Invalid parameter `{name}`: '{value[:40]}' is not a sid of that kind.")
    return value


@bp.get("/AuditLog")
def list_audit_log():
    wanted = paging.requested()
    account_sid = _sid("AccountSid", sids.ACCOUNT)
    service_sid = _sid("ServiceSid", sids.SERVICE)
    number = request.args.get("PhoneNumber")
    e164 = number_to_find(number) if number is not None else None
    identity = request.args.get("Identity")
    if identity is not None and not valid_identity(identity):
        raise invalid(f"Invalid parameter `Identity`: '{identity[:70]}' is not an entity's identity.")
    rows = core().audit.entries(wanted.offset, wanted.size + 1, account_sid=account_sid, service_sid=service_sid,
                                e164=e164, identity=identity)
    filters = {name: value for name, value in (("AccountSid", account_sid), ("ServiceSid", service_sid),
                                               ("PhoneNumber", e164), ("Identity", identity)) if value}
    return jsonify(paging.answer("entries", "AuditLog", rows, _render, wanted, "admin", filters))
