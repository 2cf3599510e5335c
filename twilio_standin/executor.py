"""The calls in flight: registers each new call, runs it on a thread of its
own once the create response is out (callrun.py), and routes REST updates and
control-API actions (answer, decline, keys, hang-up) to it.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from .callee import KEYS, CalleeBook
from .callrun import CallRun
from .livecall import CallSpec, CallStateError, LiveCall
from .state import Store
from .voicehooks import Webhooks


class CallExecutor:
    def __init__(self, store: Store, callees: CalleeBook, hooks: Webhooks,
                 time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self._store = store
        self._callees = callees
        self._hooks = hooks
        self._lock = threading.Lock()
        self._live: dict[str, LiveCall] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._closed = False

    def create(self, record: dict[str, Any], spec: CallSpec) -> None:
        record.update(state="queued", gathering=False, gather=None, speaking=None,
                      answered_as=None, ended_by=None, finished=False)
        call = LiveCall(record["sid"], spec, self._store, self.time_scale)
        self._store.add_call(record)
        with self._lock:
            self._live[call.sid] = call

    def start(self, sid: str) -> None:
        """Called once the create response has been sent: Twilio's callbacks
        never precede its API answer."""
        with self._lock:
            call = self._live.get(sid)
            if call is None or self._closed:
                return
            run = CallRun(call, self._callees.get(call.spec.to), self._store, self._hooks)
            thread = threading.Thread(target=self._run, args=(run,), daemon=True,
                                      name=f"standin-call-{sid[:10]}")
            self._threads[sid] = thread
            thread.start()  # under the lock: discard_all must never see it registered but unstarted

    def _run(self, run: CallRun) -> None:
        try:
            run.run()
        finally:
            with self._lock:
                self._live.pop(run.call.sid, None)
                self._threads.pop(run.call.sid, None)

    def discard_all(self, timeout: float = 2.0) -> None:
        """Hang up every call in flight without any further webhook, and wait
        (bounded) for their threads to finish."""
        with self._lock:
            calls, threads = list(self._live.values()), list(self._threads.values())
            self._live.clear()
        for call in calls:
            call.discard()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def shutdown(self) -> None:
        self._closed = True
        self.discard_all()

    # -- REST update and control API ------------------------------------------
    def _get(self, sid: str) -> LiveCall:
        with self._lock:
            call = self._live.get(sid)
        if call is not None:
            return call
        if self._store.get_call(sid) is None:
            raise KeyError(sid)
        raise CallStateError(f"call {sid} has ended")

    def update(self, sid: str, status: str | None = None, document: dict | None = None,
               status_callback: str | None = None,
               status_callback_method: str | None = None) -> None:
        """REST update. Raises CallStateError once the call has ended (21220)."""
        call = self._get(sid)
        with call.cond:
            if call.phase == "ended":
                raise CallStateError(f"call {sid} has ended")
            if status_callback:
                call.spec.status_callback = status_callback
                call.spec.status_callback_method = status_callback_method or "POST"
            if status == "canceled":  # only a call not yet answered; else no effect
                if call.phase in ("queued", "ringing"):
                    call.end("api", "canceled")
            elif status == "completed":
                call.end("api")
            elif document is not None:
                call.redirect(document)

    def answer(self, sid: str, as_: str = "human") -> None:
        if as_ not in ("human", "machine", "fax"):
            raise ValueError("'as' must be human, machine or fax")
        self._get(sid).decide(("answer", as_))

    def decline(self, sid: str) -> None:
        self._get(sid).decide(("decline",))

    def press(self, sid: str, digits: str) -> bool:
        if not isinstance(digits, str) or not digits or set(digits) - KEYS:
            raise ValueError("'digits' must be keys from 0-9*#ABCD")
        return self._get(sid).press(digits, "control")

    def hang_up(self, sid: str) -> None:
        """The callee hangs up: declines if the call is still ringing."""
        call = self._get(sid)
        with call.cond:
            if call.phase in ("queued", "ringing"):
                call.decide(("decline",))
            elif not call.end("callee"):
                raise CallStateError(f"call {sid} has ended")
