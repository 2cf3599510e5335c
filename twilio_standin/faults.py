"""Fault injection: Twilio's magic test numbers plus faults added at runtime.

Magic numbers are the ones Twilio documents for test credentials
(https://www.twilio.com/docs/iam/test-credentials); they are always active
here so the app's error paths can be driven without any setup.

Runtime faults are registered per destination number (or for every number
when `to` is None) and can reject the request (http_status and/or code,
message), slow it down (delay: make it exceed the client's timeout), or let it
through but report a failed delivery in the status callbacks
(delivery/error_code). A rejection given only a Twilio code answers with the
HTTP status Twilio uses for it, and one given only a status with that status's
usual code; `retry_after` adds a Retry-After header (seconds) to the refusal, as
Twilio may send with a 429. `times` limits how many requests a fault applies to.
Faults apply to Calls creates too, except the SMS-only delivery outcome.

A spec that would change nothing is refused (ValueError), so that a mistyped
fault is noticed when it is added rather than when a test wonders why nothing
failed.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

# To-number -> (HTTP status, Twilio code, message template).
MAGIC_TO = {
    "+15005550001": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (400, 21612, "The 'To' phone number: {to}, is not currently reachable "
                                 "using the 'From' phone number: {from_} via SMS."),
    "+15005550003": (400, 21408, "Permission to send an SMS has not been enabled for the "
                                 "region indicated by the 'To' number: {to}."),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (400, 21614, "'To' number {to} is not a valid mobile number"),
}
# From-number magic, same idea (an app misconfiguration rather than a bad user number).
MAGIC_FROM = {
    "+15005550001": (400, 21212, "The 'From' number {from_} is not a valid phone number, "
                                 "shortcode, or alphanumeric sender ID."),
    "+15005550007": (400, 21606, "The From phone number {from_} is not a valid, SMS-capable "
                                 "inbound phone number or short code for your account."),
    "+15005550008": (400, 21611, "This 'From' number has exceeded the maximum number of "
                                 "queued messages"),
}
# Default Twilio codes when a fault gives an HTTP status but no code.
DEFAULT_CODES = {400: 21211, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
# Twilio's codes 20003 and 20004 and those of the form 20000 + an HTTP status (20404, 20429,
# 20500, 20503...) say that status; every other REST error code (21xxx, 13xxx...) is a 400.
CODE_STATUSES = {20003: 401, 20004: 405}


def status_of(code: int) -> int:
    """The HTTP status Twilio answers with a REST error of this code."""
    if code in CODE_STATUSES:
        return CODE_STATUSES[code]
    if 20400 <= code <= 20599:
        return code - 20000
    return 400


DEFAULT_MESSAGES = {429: "Too Many Requests", 500: "Internal Server Error",
                    503: "Service Unavailable"}
DELIVERY_CODES = {"undelivered": 30003, "failed": 30008}  # unreachable handset / unknown

# The magic numbers of the Calls resource differ from the Messages ones.
MAGIC_CALL_TO = {
    "+15005550001": (400, 21217, "Phone number {to} does not appear to be valid"),
    "+15005550002": (400, 21214, "'To' phone number {to} cannot be reached"),
    "+15005550003": (400, 21215, "Account not authorized to call {to}. Perhaps you need to "
                                 "enable some international permissions."),
    "+15005550004": (400, 21216, "Call blocked by Twilio: {to}"),
}
MAGIC_CALL_FROM = {
    "+15005550001": (400, 21212, "The source phone number provided, {from_}, is not valid."),
}


def magic_error(to: str, from_: str | None, calls: bool = False) -> tuple[int, int, str] | None:
    tables = ((MAGIC_CALL_TO, to), (MAGIC_CALL_FROM, from_)) if calls else \
        ((MAGIC_TO, to), (MAGIC_FROM, from_))
    for table, number in tables:
        if number in table:
            status, code, template = table[number]
            return status, code, template.format(to=to, from_=from_)
    return None


@dataclass
class Fault:
    id: int
    to: str | None = None
    http_status: int | None = None
    code: int | None = None
    message: str | None = None
    delay: float = 0.0
    delivery: str | None = None
    error_code: int | None = None
    retry_after: int | None = None  # seconds, in a Retry-After header of the refusal
    times: int | None = None  # remaining uses; None = unlimited

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_fault(spec: dict[str, Any]) -> dict[str, Any]:
    """Normalise a fault spec from JSON or kwargs; raise ValueError if malformed."""
    allowed = {"to", "http_status", "code", "message", "delay", "delivery", "error_code", "retry_after",
               "times"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    out = dict(spec)
    if out.get("to") is not None and not isinstance(out["to"], str):
        raise ValueError("'to' must be an E.164 string or null (all numbers)")
    status = out.get("http_status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or not 400 <= status <= 599):
        raise ValueError("'http_status' must be an integer 400-599")
    for name in ("code", "error_code", "retry_after", "times"):
        value = out.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"'{name}' must be an integer")
    for name in ("retry_after", "times"):
        if out.get(name) is not None and out[name] < 1:
            raise ValueError(f"'{name}' must be >= 1")
    delay = out.get("delay") or 0.0
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise ValueError("'delay' must be a non-negative number of seconds")
    out["delay"] = float(delay)
    delivery = out.get("delivery")
    if delivery is not None:
        if delivery not in DELIVERY_CODES:
            raise ValueError("'delivery' must be 'undelivered' or 'failed'")
        out["error_code"] = out.get("error_code") or DELIVERY_CODES[delivery]
    code = out.get("code")
    refuses = status is not None or code is not None
    if refuses and delivery is not None:
        raise ValueError("a refused request is never delivered: give 'http_status'/'code' or "
                         "'delivery', not both")
    if out.get("error_code") is not None and delivery is None:
        raise ValueError("'error_code' is the code of a failed delivery: it needs 'delivery'")
    for name in ("message", "retry_after"):
        if out.get(name) is not None and not refuses:
            raise ValueError(f"'{name}' is part of a refusal: it needs 'code' or 'http_status'")
    if not refuses and not out["delay"] and delivery is None:
        raise ValueError("a fault needs 'code' or 'http_status' (refuse the request), 'delay' "
                         "or 'delivery'")
    if refuses:
        out["http_status"] = status if status is not None else status_of(code)
        if code is None:
            out["code"] = DEFAULT_CODES.get(out["http_status"], 20000 + out["http_status"])
        out["message"] = out.get("message") or DEFAULT_MESSAGES.get(out["http_status"],
                                                                      "Injected fault")
    return out


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, **spec: Any) -> Fault:
        fault = Fault(id=next(self._ids), **validate_fault(spec))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def take(self, to: str, calls: bool = False) -> Fault | None:
        """Return the fault for this request (number-specific before wildcard),
        consuming one use of it; None if no fault applies.

        A call skips faults whose only effect is an SMS delivery outcome, so it
        never uses up a `times` meant for a message."""
        with self._lock:
            for wanted in (to, None):
                for fault in self._faults:
                    if calls and fault.http_status is None and not fault.delay:
                        continue
                    if fault.to == wanted:
                        if fault.times is not None:
                            fault.times -= 1
                            if fault.times <= 0:
                                self._faults.remove(fault)
                        return Fault(**fault.as_dict())
        return None
