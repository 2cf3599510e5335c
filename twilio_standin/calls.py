"""Calls resource of Twilio's REST API v2010: create, fetch, list, update.

Mounted under /2010-04-01/Accounts/<AccountSid>; authentication happens in
app.py. What a call then does (ringing, TwiML, callbacks) is the executor's
business: see executor.py and callrun.py.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, request

from .callbacks import rfc2822_now
from .context import current
from .errors import not_found, twilio_error
from .faults import magic_error
from .livecall import CallSpec, CallStateError
from .paging import list_page

bp = Blueprint("calls", __name__, url_prefix="/2010-04-01/Accounts/<AccountSid>")

_NUMBER = re.compile(r"^\+?[1-9]\d{1,14}$")
_SEND_DIGITS = re.compile(r"^[0-9A-D*#wW]{1,32}$")
_EVENTS = ("initiated", "ringing", "answered", "completed")
_PUBLIC = ("sid", "date_created", "date_updated", "parent_call_sid", "account_sid", "to",
           "to_formatted", "from", "from_formatted", "phone_number_sid", "status",
           "start_time", "end_time", "duration", "price", "price_unit", "direction",
           "answered_by", "api_version", "forwarded_from", "group_sid", "caller_name",
           "queue_time", "trunk_sid")
_SUBRESOURCES = ("notifications", "recordings", "payments", "events", "siprec", "streams",
                 "transcriptions", "user_defined_message_subscriptions", "user_defined_messages")


class Invalid(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def resource(record: dict) -> dict:
    """The JSON Twilio returns for a call (the stand-in's records stripped)."""
    base = f"/2010-04-01/Accounts/{record['account_sid']}/Calls/{record['sid']}"
    out = {name: record.get(name) for name in _PUBLIC}
    out["uri"] = base + ".json"
    out["subresource_uris"] = {name: f"{base}/{name.title().replace('_', '')}.json"
                               for name in _SUBRESOURCES}
    return out


def _party(value: str) -> bool:
    # Clients and SIP addresses are valid parties as well as phone numbers.
    return value.startswith(("client:", "sip:")) or bool(
        _NUMBER.match(re.sub(r"[\s().-]", "", value)))


def _url(name: str, value: str | None, code: int) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(code, f"{name} is not a valid URL: {value}")
    return value


def _method(name: str, value: str | None, code: int = 21200) -> str:
    method = (value or "POST").upper()
    if method not in ("GET", "POST"):
        raise Invalid(code, f"{name} must be GET or POST, not {value}")
    return method


def _integer(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise Invalid(21200, f"{name} must be an integer, not {value!r}") from None
    if number < low:
        raise Invalid(21200, f"{name} must be at least {low}")
    return min(number, high)  # Twilio caps rather than rejects


def parse_create(form) -> CallSpec:
    """The create params as Twilio checks them, in its order; raises Invalid."""
    to, from_ = form.get("To", "").strip(), form.get("From", "").strip()
    if not to:
        raise Invalid(21201, "No 'To' number is specified")
    if not _party(to):
        raise Invalid(21211, f"Invalid 'To' Phone Number: {to}")
    if not from_:
        raise Invalid(21213, "No 'From' number is specified")
    if not _party(from_):
        raise Invalid(21212, f"Invalid 'From' Phone Number: {from_}")
    url = _url("Url", form.get("Url"), 21205)
    twiml = form.get("Twiml") or None
    if url is None and twiml is None:
        raise Invalid(21205, "Url parameter is required. For more information, "
                             "see http://www.twilio.com/docs/api/twiml")
    events = form.getlist("StatusCallbackEvent")
    # The twilio library sends one value per parameter; curl users often join them.
    events = [e for value in events for e in value.replace(",", " ").split()]
    if set(events) - set(_EVENTS):
        raise Invalid(21200, f"StatusCallbackEvent values must be among {', '.join(_EVENTS)}")
    send_digits = form.get("SendDigits") or None
    if send_digits is not None and not _SEND_DIGITS.match(send_digits):
        raise Invalid(21206, f"Invalid SendDigits: {send_digits}")
    detection = form.get("MachineDetection") or None
    if detection not in (None, "Enable", "DetectMessageEnd"):
        raise Invalid(21200, "MachineDetection must be Enable or DetectMessageEnd, "
                             f"not {detection}")
    async_amd = (form.get("AsyncAmd") or "false").lower()
    if async_amd not in ("true", "false"):
        raise Invalid(21200, f"AsyncAmd must be true or false, not {form.get('AsyncAmd')}")
    return CallSpec(
        to=to, from_=from_, url=url, twiml=None if url else twiml,  # Url wins over Twiml
        method=_method("Method", form.get("Method"), 21209),
        status_callback=_url("StatusCallback", form.get("StatusCallback"), 21200),
        status_callback_method=_method("StatusCallbackMethod", form.get("StatusCallbackMethod")),
        events=frozenset(events or ["completed"]), send_digits=send_digits,
        machine_detection=detection, async_amd=async_amd == "true",
        amd_callback=_url("AsyncAmdStatusCallback", form.get("AsyncAmdStatusCallback"), 21200),
        amd_callback_method=_method("AsyncAmdStatusCallbackMethod",
                                    form.get("AsyncAmdStatusCallbackMethod")),
        amd_timeout=_integer("MachineDetectionTimeout", form.get("MachineDetectionTimeout"),
                             30, 3, 59),
        timeout=_integer("Timeout", form.get("Timeout"), 60, 1, 600),
        time_limit=_integer("TimeLimit", form.get("TimeLimit"), 14400, 1, 86400))


@bp.post("/Calls.json")
def create_call(AccountSid: str):
    ctx = current()
    form = request.form
    to = form.get("To", "").strip()
    entry = {"resource": "Calls", "to": to or None, "from": form.get("From"),
             "at": rfc2822_now(), "sid": None}

    def reject(status: int, code: int, message: str, retry_after: int | None = None):
        ctx.store.log_request({**entry, "http_status": status, "code": code})
        return twilio_error(status, code, message, retry_after=retry_after)

    try:
        spec = parse_create(form)
    except Invalid as exc:
        ctx.sleep(ctx.send_delay)
        return reject(400, exc.code, exc.message)
    fault = ctx.faults.take(to, calls=True)
    ctx.sleep(ctx.send_delay + (fault.delay if fault else 0.0))
    if fault and fault.http_status:
        return reject(fault.http_status, fault.code, fault.message, fault.retry_after)
    magic = magic_error(to, spec.from_, calls=True)
    if magic:
        return reject(*magic)

    now = rfc2822_now()
    params = {name: values[0] if len(values) == 1 else values
              for name, values in form.lists()}
    record = {
        "sid": "CA" + secrets.token_hex(16), "account_sid": ctx.account_sid,
        "date_created": now, "date_updated": now, "parent_call_sid": None,
        "to": to, "to_formatted": to, "from": spec.from_, "from_formatted": spec.from_,
        "phone_number_sid": None, "status": "queued", "start_time": None, "end_time": None,
        "duration": None, "price": None, "price_unit": "USD", "direction": "outbound-api",
        "answered_by": None, "api_version": "2010-04-01", "forwarded_from": None,
        "group_sid": None, "caller_name": None, "queue_time": "0", "trunk_sid": None,
        "send_digits": spec.send_digits, "params": params,
    }
    ctx.calls.create(record, spec)
    ctx.store.log_request({**entry, "http_status": 201, "code": None, "sid": record["sid"]})
    response = jsonify(resource(record))
    response.status_code = 201
    response.call_on_close(lambda: ctx.calls.start(record["sid"]))
    return response


@bp.get("/Calls/<sid>.json")
def fetch_call(AccountSid: str, sid: str):
    record = current().store.get_call(sid)
    if record is None:
        return not_found(request.path)
    return jsonify(resource(record))


@bp.get("/Calls.json")
def list_calls(AccountSid: str):
    ctx = current()
    filters = {k: request.args[k] for k in ("To", "From", "Status") if request.args.get(k)}
    found = [c for c in reversed(ctx.store.calls(filters.get("To")))  # newest first
             if filters.get("From", c["from"]) == c["from"]
             and filters.get("Status", c["status"]) == c["status"]]
    base = f"/2010-04-01/Accounts/{ctx.account_sid}/Calls.json"
    return list_page("calls", found, request.args, base, filters, resource)


@bp.post("/Calls/<sid>.json")
def update_call(AccountSid: str, sid: str):
    ctx = current()
    form = request.form
    if ctx.store.get_call(sid) is None:
        return not_found(request.path)
    status = form.get("Status") or None
    try:
        if status not in (None, "canceled", "completed"):
            raise Invalid(21200, f"Status must be canceled or completed, not {status}")
        url = _url("Url", form.get("Url"), 21205)
        document = None
        if url:  # as on create, Url wins over Twiml
            document = {"url": url, "method": _method("Method", form.get("Method"), 21209)}
        elif form.get("Twiml"):
            document = {"twiml": form["Twiml"]}
        callback = _url("StatusCallback", form.get("StatusCallback"), 21200)
        callback_method = _method("StatusCallbackMethod", form.get("StatusCallbackMethod"))
    except Invalid as exc:
        return twilio_error(400, exc.code, exc.message)
    try:
        ctx.calls.update(sid, status=status, document=document, status_callback=callback,
                         status_callback_method=callback_method)
    except (CallStateError, KeyError):
        return twilio_error(400, 21220, "Call is not in-progress. Cannot redirect.")
    return jsonify(resource(ctx.store.get_call(sid)))
