"""One call in flight: the state its executor thread shares with REST and
control-API requests (hang up, redirect, key presses, answer decisions).

Everything goes through the call's own Condition so a request can interrupt
whatever the executor is waiting on (ringing, speech, a Pause, a Gather) at
once. The call's final status is written the moment it ends, by whichever
thread ends it, so a REST fetch right after `Status=completed` already sees
`completed`; the executor then posts the final callback on its own time.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from .callbacks import rfc2822_now
from .state import Store

FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


class HungUp(Exception):
    """The call has ended: unwinds the executor thread."""


class Redirected(Exception):
    """A REST update replaced the TwiML being executed."""


class CallStateError(Exception):
    """The operation does not fit the call's current state."""


@dataclass
class CallSpec:
    """The create request, parsed (calls.py validates it)."""
    to: str
    from_: str
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    events: frozenset = frozenset({"completed"})
    send_digits: str | None = None
    machine_detection: str | None = None  # "Enable" | "DetectMessageEnd"
    async_amd: bool = False
    amd_callback: str | None = None
    amd_callback_method: str = "POST"
    amd_timeout: int = 30
    timeout: int = 60
    time_limit: int = 14400


class LiveCall:
    def __init__(self, sid: str, spec: CallSpec, store: Store, time_scale: float) -> None:
        self.sid = sid
        self.spec = spec
        self.time_scale = time_scale
        self._store = store
        self.cond = threading.Condition()  # RLock inside: helpers may nest
        self.phase = "queued"  # queued | ringing | in-progress | ended
        self.started = time.monotonic()
        self.answered_at: float | None = None
        self.ended_by: str | None = None
        self.final_status: str | None = None
        self.final_duration: str | None = None  # whole seconds, None if never answered
        self.discarded = False  # cleared/stopped: post nothing more
        self.decision: tuple | None = None  # ("answer", "human"|"machine") or ("decline",)
        self.initial: dict | None = None  # REST update before answer: TwiML to start with
        self.pending: dict | None = None  # REST update while live: TwiML to switch to
        self.keys: list[tuple[str, float]] = []  # (keys, when) for the running Gather
        self.gather_dtmf: bool | None = None  # None = no Gather running

    def record(self, type_: str, **fields: Any) -> None:
        """Append a transcript event ("t": real seconds since the call was created)."""
        event = {"type": type_, "t": round(time.monotonic() - self.started, 3), **fields}
        self._store.add_call_event(self.sid, event)

    def update_record(self, **fields: Any) -> None:
        self._store.update_call(self.sid, **fields)

    def set_phase(self, phase: str, status: str) -> None:
        with self.cond:
            if self.phase == "ended":
                raise HungUp
            self.phase = phase
            fields = {"state": phase, "status": status, "date_updated": rfc2822_now()}
            if phase == "in-progress":
                self.answered_at = time.monotonic()
            self.update_record(**fields)

    def end(self, by: str | None, status: str | None = None) -> bool:
        """End the call now (first caller wins); False if it had already ended.
        Without `status`: completed once answered, canceled before."""
        with self.cond:
            if self.phase == "ended":
                return False
            answered = self.phase == "in-progress"
            status = status or ("completed" if answered else "canceled")
            now = rfc2822_now()
            fields = {"status": status, "state": "ended", "end_time": now, "date_updated": now,
                      "ended_by": by, "gathering": False, "gather": None, "speaking": None,
                      "duration": None}
            if answered:  # in the callee's seconds, so scaled-down tests still see real lengths
                seconds = (time.monotonic() - self.answered_at) / self.time_scale
                fields["duration"] = str(math.ceil(round(seconds, 6)))
            self.phase, self.ended_by = "ended", by
            self.final_status, self.final_duration = status, fields["duration"]
            self.update_record(**fields)
            self.cond.notify_all()
            return True

    def discard(self) -> None:
        """Forget the call (clear/stop): end it and suppress every later webhook."""
        with self.cond:
            self.discarded = True
            self.end("standin")

    # -- requests from other threads --------------------------------------
    def decide(self, decision: tuple) -> None:
        with self.cond:
            if self.phase not in ("queued", "ringing"):
                raise CallStateError(f"call {self.sid} is {self.phase}, not ringing")
            self.decision = decision
            self.cond.notify_all()

    def press(self, keys: str, source: str, when: float | None = None) -> bool:
        """Key presses reach the running Gather; with none running they are
        lost, as on a real phone (recorded either way). Returns delivered."""
        with self.cond:
            if self.phase != "in-progress":
                raise CallStateError(f"call {self.sid} is {self.phase}, not in progress")
            delivered = bool(self.gather_dtmf)
            if delivered:
                self.keys.append((keys, time.monotonic() if when is None else when))
                self.cond.notify_all()
            self.record("keys", digits=keys, delivered=delivered, source=source)
            return delivered

    def redirect(self, document: dict) -> None:
        with self.cond:
            if self.phase == "ended":
                raise CallStateError(f"call {self.sid} has ended")
            if self.phase == "in-progress":
                self.pending = document
                self.cond.notify_all()
            else:  # not answered yet: the new TwiML is what the answer will run
                self.initial = document

    def take_pending(self) -> dict | None:
        with self.cond:
            document, self.pending = self.pending, None
            return document
