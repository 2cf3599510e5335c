"""Runtime control API under /_standin/ (JSON, no auth: a local test tool).

Lets a test or benchmark in another process inject faults, change latency and
inspect what the app sent. The StandIn class offers the same as methods.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .context import current
from .errors import twilio_error

bp = Blueprint("standin_control", __name__, url_prefix="/_standin")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object body")
    return body


@bp.errorhandler(ValueError)
def _bad_request(exc: ValueError):
    return twilio_error(400, 20001, str(exc))


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


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
    return jsonify(current().store.messages(request.args.get("to") or None))


@bp.delete("/messages")
def clear_messages():
    current().store.clear()
    return "", 204


@bp.get("/requests")
def list_requests():
    """Every create attempt (accepted or rejected), e.g. to count retries."""
    return jsonify(current().store.requests(request.args.get("to") or None))


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
