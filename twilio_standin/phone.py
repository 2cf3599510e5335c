"""The dev phone: a web page (static/phone.*) showing every number the stand-in
texted or called as a phone, with its inbox and its calls, live.

    GET /, /phone                    the page (plain HTML, CSS and JS, nothing fetched elsewhere)
    GET /_standin/phones             a summary per number: texts, calls and what each call said
    GET /_standin/phones/events      the same summary as Server-Sent Events, sent on every change

The page acts on calls through the control API (answer, decline, digits, hangup),
exactly as a test would. A call's `speaking` is the <Say> the callee hears right
now; each Say appears in `events` when the executor reaches it, never before.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from flask import Blueprint, Response, jsonify, send_from_directory

from .context import current
from .state import Store

STATIC = Path(__file__).resolve().parent / "static"
bp = Blueprint("phone", __name__, static_folder=str(STATIC), static_url_path="/phone/static")

MESSAGES_PER_PHONE = 50  # newest kept; the page is for reading codes, not archives
CALLS_PER_PHONE = 10
KEEPALIVE_SECONDS = 10.0  # a comment line now and then: a closed page is noticed
COALESCE_SECONDS = 0.05  # bursts of changes (a call's events) go out as one update
_MESSAGE_FIELDS = ("sid", "from", "to", "body", "status", "date_created")
_CALL_FIELDS = ("sid", "from", "to", "status", "state", "gathering", "gather", "send_digits",
                "answered_as", "answered_by", "ended_by", "speaking", "date_created",
                "start_time", "end_time", "duration")
# What the callee hears or does; webhooks and their parameters stay in /_standin/calls.
_EVENT_TYPES = frozenset({"say", "play", "pause", "keys", "send_digits", "amd", "gather",
                          "hangup", "application_error", "redirect"})


def _call(record: dict[str, Any]) -> dict[str, Any]:
    out = {name: record.get(name) for name in _CALL_FIELDS}
    out["events"] = [event for event in record["transcript"] if event["type"] in _EVENT_TYPES]
    return out


def phones(store: Store) -> dict[str, Any]:
    """Every number texted or called, in order of first contact, with its newest
    texts and calls (oldest first)."""
    version = store.version  # read first: a change while we read goes out again
    numbers: dict[str, dict[str, list]] = {}
    for message in store.messages():
        entry = numbers.setdefault(message["to"], {"messages": [], "calls": []})
        entry["messages"].append({name: message.get(name) for name in _MESSAGE_FIELDS})
    for record in store.calls():
        numbers.setdefault(record["to"], {"messages": [], "calls": []})["calls"].append(_call(record))
    return {"version": version, "phones": [
        {"number": number, "messages": entry["messages"][-MESSAGES_PER_PHONE:],
         "calls": entry["calls"][-CALLS_PER_PHONE:]}
        for number, entry in numbers.items()]}


@bp.get("/")
@bp.get("/phone")
def page():
    return send_from_directory(STATIC, "phone.html")


@bp.get("/_standin/phones")
def summary():
    return jsonify(phones(current().store))


@bp.get("/_standin/phones/events")
def events():
    ctx = current()

    def stream() -> Iterator[str]:
        yield "retry: 1000\n\n"  # how soon the browser reconnects after the stand-in restarts
        sent = None
        while not ctx.stopping.is_set():
            if ctx.store.version != sent:
                snapshot = phones(ctx.store)
                sent = snapshot["version"]
                yield f"id: {sent}\ndata: {json.dumps(snapshot)}\n\n"
                ctx.stopping.wait(COALESCE_SECONDS)
            elif ctx.store.wait_for_change(sent, KEEPALIVE_SECONDS) == sent:
                yield ": keep-alive\n\n"

    # stop() sets `stopping` and wakes the store: the stream ends at once, shutdown never waits
    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
