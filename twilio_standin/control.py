"""Runtime control API under /_standin/ (JSON, no auth: a local test tool).

Lets a test or benchmark in another process inject faults, change latency,
script the phones the stand-in calls, act as the callee of a live call
(answer, decline, press keys, hang up) and inspect what the app sent. The
StandIn class offers the same as methods.
"""
from __future__ import annotations

import os
import re
from typing import Callable

from flask import Blueprint, jsonify, request

from .context import current
from .errors import twilio_error
from .livecall import CallStateError

bp = Blueprint("standin_control", __name__, url_prefix="/_standin")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object body")
    return body


@bp.errorhandler(ValueError)
def _bad_request(exc: ValueError):
    return twilio_error(400, 20001, str(exc))


# What a ?to= filter may be: an E.164 number, also as a WhatsApp address; calls also have
# client: and sip: parties.
_NUMBER = re.compile(r"^(whatsapp:)?\+[1-9]\d{1,14}$")
_PARTY = re.compile(r"^(whatsapp:)?\+[1-9]\d{1,14}$|^(client|sip):\S+$")


def _to_filter(allowed: re.Pattern | None = _NUMBER) -> str | None:
    """The ?to= filter; None when absent or empty (everything).

    A `+` written as is in a URL arrives as a space (form decoding): a space before the
    digits is read as that `+`. A filter `allowed` does not match is refused (ValueError:
    400) rather than answered with an empty list, which would read as "nothing was sent"."""
    to = request.args.get("to")
    if not to:
        return None
    to = re.sub(r"^(whatsapp:)? (?=\d)", r"\1+", to)
    if allowed is not None and not allowed.match(to):
        raise ValueError(f"'to' must be a phone number in E.164 form such as +447400123456, not "
                         f"{to!r} (in a URL, write its + as %2B)")
    return to


@bp.get("/health")
def health():
    # The pid tells a launcher (./dev run) its own stand-in from another one on the same port.
    return jsonify({"status": "ok", "pid": os.getpid()})


@bp.get("/faults")
def list_faults():
    return jsonify(current().faults.list())


@bp.post("/faults")
def add_fault():
    fault = current().faults.add(**_json_body())
    return jsonify(fault.as_dict()), 201


@bp.delete("/faults")
def clear_faults():
    current().faults.clear()
    return "", 204


@bp.get("/messages")
def list_messages():
    return jsonify(current().store.messages(_to_filter()))


@bp.delete("/messages")
def clear_messages():
    """Forgets everything recorded, calls included (as StandIn.clear)."""
    current().clear()
    return "", 204


@bp.get("/requests")
def list_requests():
    """Every create attempt (accepted or rejected), e.g. to count retries;
    ?resource=Messages or ?resource=Calls for one kind. Its ?to= may be anything: a rejected
    attempt is logged with the To it carried, a phone number or not."""
    resource = request.args.get("resource") or None
    return jsonify(current().store.requests(_to_filter(allowed=None), resource))


# -- calls and callees -------------------------------------------------------------
@bp.get("/callees")
def list_callees():
    return jsonify(current().callees.list())


@bp.post("/callees")
def set_callee():
    body = _json_body()
    number = body.pop("number", None)
    return jsonify(current().callees.set(number, **body).as_dict()), 201


@bp.delete("/callees")
def clear_callees():
    current().callees.clear()
    return "", 204


@bp.get("/calls")
def list_calls():
    return jsonify(current().store.calls(_to_filter(_PARTY)))


@bp.delete("/calls")
def clear_calls():
    current().calls.discard_all()
    current().store.clear_calls()
    return "", 204


@bp.get("/calls/<sid>")
def get_call(sid: str):
    record = current().store.get_call(sid)
    if record is None:
        return twilio_error(404, 20404, f"No call {sid}")
    return jsonify(record)


def _act(sid: str, action: Callable[[], object]):
    """Run a callee action on a live call: 404 unknown call, 409 wrong state."""
    try:
        result = action()
    except KeyError:
        return twilio_error(404, 20404, f"No call {sid}")
    except CallStateError as exc:
        return twilio_error(409, 20409, str(exc))
    body = current().store.get_call(sid)
    if result is not None:
        body = {"delivered": result, "call": body}
    return jsonify(body)


@bp.post("/calls/<sid>/answer")
def answer_call(sid: str):
    body = request.get_json(silent=True) or {}
    return _act(sid, lambda: current().calls.answer(sid, body.get("as", "human")))


@bp.post("/calls/<sid>/decline")
def decline_call(sid: str):
    return _act(sid, lambda: current().calls.decline(sid))


@bp.post("/calls/<sid>/digits")
def press_digits(sid: str):
    digits = _json_body().get("digits")
    return _act(sid, lambda: current().calls.press(sid, digits))


@bp.post("/calls/<sid>/hangup")
def hang_up(sid: str):
    return _act(sid, lambda: current().calls.hang_up(sid))


@bp.get("/config")
def get_config():
    return jsonify({"send_delay": current().send_delay})


@bp.post("/config")
def set_config():
    body = _json_body()
    if "send_delay" in body:
        delay = body["send_delay"]
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise ValueError("'send_delay' must be a non-negative number of seconds")
        current().send_delay = float(delay)
    return get_config()
