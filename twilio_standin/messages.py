"""Messages resource of Twilio's REST API v2010, as the twilio library calls it.

Mounted under /2010-04-01/Accounts/<AccountSid>; authentication and the
AccountSid check happen once for all resources in app.py.
"""
from __future__ import annotations

import re
import secrets

from flask import Blueprint, jsonify, request

from .callbacks import rfc2822_now
from .context import current
from .errors import not_found, twilio_error
from .faults import magic_error
from .paging import list_page

bp = Blueprint("messages", __name__, url_prefix="/2010-04-01/Accounts/<AccountSid>")

# Twilio accepts loosely formatted numbers and channel prefixes; reject only
# what could never be a phone number (as Twilio does, with 21211).
_NUMBER = re.compile(r"^(whatsapp:)?\+?[1-9]\d{1,14}$")
_PUBLIC = ("sid", "account_sid", "to", "from", "messaging_service_sid", "body", "status",
           "num_segments", "num_media", "direction", "api_version", "date_created",
           "date_updated", "date_sent", "price", "price_unit", "error_code", "error_message")


def resource(record: dict) -> dict:
    """The JSON Twilio returns for a message (internal bookkeeping stripped)."""
    base = f"/2010-04-01/Accounts/{record['account_sid']}/Messages/{record['sid']}"
    out = {name: record.get(name) for name in _PUBLIC}
    out["uri"] = base + ".json"
    out["subresource_uris"] = {"media": base + "/Media.json", "feedback": base + "/Feedback.json"}
    return out


def _validate(form) -> tuple[int, str] | None:
    to = form.get("To", "").strip()
    if not to:
        return 21604, "A 'To' phone number is required."
    if not _NUMBER.match(re.sub(r"[\s().-]", "", to)):
        return 21211, f"Invalid 'To' Phone Number: {to}"
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603, "A 'From' phone number is required."
    if not form.get("Body") and not form.getlist("MediaUrl") and not form.get("ContentSid"):
        return 21602, "Message body is required."
    return None


@bp.post("/Messages.json")
def create_message(AccountSid: str):
    ctx = current()
    form = request.form
    to = form.get("To", "").strip()
    entry = {"resource": "Messages", "to": to or None, "from": form.get("From"),
             "at": rfc2822_now(), "sid": None}

    def reject(status: int, code: int, message: str, retry_after: int | None = None):
        ctx.store.log_request({**entry, "http_status": status, "code": code})
        return twilio_error(status, code, message, retry_after=retry_after)

    invalid = _validate(form)
    if invalid:
        ctx.sleep(ctx.send_delay)
        return reject(400, *invalid)
    fault = ctx.faults.take(to)
    ctx.sleep(ctx.send_delay + (fault.delay if fault else 0.0))
    if fault and fault.http_status:
        return reject(fault.http_status, fault.code, fault.message, fault.retry_after)
    magic = magic_error(to, form.get("From"))
    if magic:
        return reject(*magic)

    now = rfc2822_now()
    record = {
        "sid": "SM" + secrets.token_hex(16), "account_sid": ctx.account_sid, "to": to,
        "from": form.get("From") or None,
        "messaging_service_sid": form.get("MessagingServiceSid") or None,
        "body": form.get("Body", ""), "status": "queued", "num_segments": "1",
        "num_media": str(len(form.getlist("MediaUrl"))), "direction": "outbound-api",
        "api_version": "2010-04-01", "date_created": now, "date_updated": now,
        "date_sent": None, "price": None, "price_unit": "USD", "error_code": None,
        "error_message": None, "status_callback": form.get("StatusCallback") or None,
        "callbacks": [],
    }
    ctx.store.add_message(record)
    ctx.store.log_request({**entry, "http_status": 201, "code": None, "sid": record["sid"]})
    response = jsonify(resource(record))
    response.status_code = 201
    # Start the status progression only once the answer has been written, as
    # Twilio's callbacks can never precede its API response.
    response.call_on_close(lambda: ctx.dispatcher.schedule(
        record["sid"], fault.delivery if fault else None, fault.error_code if fault else None))
    return response


@bp.get("/Messages/<sid>.json")
def fetch_message(AccountSid: str, sid: str):
    record = current().store.get_message(sid)
    if record is None:
        return not_found(request.path)
    return jsonify(resource(record))


@bp.get("/Messages.json")
def list_messages(AccountSid: str):
    ctx = current()
    filters = {k: request.args[k] for k in ("To", "From") if request.args.get(k)}
    found = [m for m in reversed(ctx.store.messages(filters.get("To")))  # newest first
             if "From" not in filters or m["from"] == filters["From"]]
    base = f"/2010-04-01/Accounts/{ctx.account_sid}/Messages.json"
    return list_page("messages", found, request.args, base, filters, resource)
