"""The life of one call on its own thread, as Twilio's voice platform plays
it: initiated -> ringing -> answered (answering-machine detection, SendDigits)
-> TwiML (twiml.py) -> completed, or busy / no-answer / failed / canceled;
status callbacks at each requested step, the final one always last.

Timing runs on a virtual clock so tests with a small time_scale stay
deterministic: everything scheduled (the callee's key presses and hang-up,
detection results, TimeLimit) and every verb's end have a virtual time, and
when the thread wakes late it handles them in virtual-time order, not in the
order the OS happened to wake it. Requests from other threads (REST update,
control API) arrive in real time and interrupt any wait at once.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import time
from typing import Callable

from .callbacks import rfc2822_now
from .callee import Callee
from .livecall import HungUp, LiveCall, Redirected
from .state import Store
from .twiml import TwimlSession
from .voicehooks import CallbackLane, Webhooks

log = logging.getLogger("twilio_standin.voice")

SEND_DIGIT_PAUSES = {"w": 0.5, "W": 1.0}


class CallRun:
    def __init__(self, call: LiveCall, callee: Callee, store: Store, hooks: Webhooks) -> None:
        self.call = call
        self.spec = call.spec
        self.callee = callee
        self.hooks = hooks
        self.lane = CallbackLane(call, store, hooks)
        self.clock = call.started  # virtual now (monotonic seconds)
        self.in_twiml = False  # a REST redirect interrupts only while TwiML runs
        self.answered_by: str | None = None
        self.sync_amd = False
        self._script = list(callee.keys)
        self._timers: list[list] = []  # heap of [when, seq, fn]; fn None = canceled
        self._seq = itertools.count()
        self._callback_seq = itertools.count()

    # -- time ---------------------------------------------------------------
    def scaled(self, seconds: float) -> float:
        return seconds * self.call.time_scale

    def schedule(self, delay: float, fn: Callable[[], None]) -> list:
        timer = [self.clock + self.scaled(delay), next(self._seq), fn]
        heapq.heappush(self._timers, timer)
        return timer

    def check(self) -> None:
        if self.call.phase == "ended":
            raise HungUp
        if self.in_twiml and self.call.pending is not None:
            raise Redirected

    def wait(self, deadline: float, *, keys: bool = False, decision: bool = False) -> str:
        """Wait until the virtual `deadline`, running timers due before it.
        Returns "timeout", "keys" (if keys) or "decision" (if decision);
        raises HungUp / Redirected."""
        call = self.call
        with call.cond:
            while True:
                self.check()
                if keys and call.keys:
                    self.clock = max(self.clock, call.keys[-1][1])
                    return "keys"
                if decision and call.decision:
                    self.clock = max(self.clock, time.monotonic())
                    return "decision"
                while self._timers and self._timers[0][2] is None:
                    heapq.heappop(self._timers)
                now = time.monotonic()
                if self._timers and self._timers[0][0] <= min(now, deadline):
                    when, _, fn = heapq.heappop(self._timers)
                    self.clock = max(self.clock, when)
                    fn()
                    continue
                if now >= deadline:
                    self.clock = max(self.clock, deadline)
                    return "timeout"
                target = min(deadline, self._timers[0][0]) if self._timers else deadline
                call.cond.wait(target - now)

    def sleep(self, seconds: float, keys: bool = False) -> str:
        return self.wait(self.clock + self.scaled(seconds), keys=keys)

    def caught_up(self) -> None:
        """After real work (an HTTP request) the virtual clock moves to now."""
        self.clock = max(self.clock, time.monotonic())

    # -- the call -----------------------------------------------------------
    def run(self) -> None:
        call, spec = self.call, self.spec
        try:
            with call.cond:
                self.check()  # canceled before its thread even started
            call.update_record(start_time=rfc2822_now())
            self.status_event("initiated", "initiated")
            as_ = self._ring()
            self._answer(as_)
            # A REST update (Url/Twiml) made before this point replaces the create's.
            first = {"url": spec.url, "method": spec.method} if spec.url else {"twiml": spec.twiml}
            TwimlSession(self).execute(call.take_pending() or call.initial or first)
        except HungUp:
            pass
        except Exception:  # a bug here must still end the call cleanly
            log.exception("call %s: executor failed", self.call.sid)
        finally:
            self._finish()

    def _ring(self) -> str:
        call, callee, spec = self.call, self.callee, self.spec
        if callee.answer in ("busy", "failed"):
            call.end(None, callee.answer)
            raise HungUp
        call.set_phase("ringing", "ringing")
        self.status_event("ringing", "ringing")
        if callee.answer == "interactive":  # rings until someone acts, or Timeout
            ring = spec.timeout
        else:
            ring = min(callee.ring, spec.timeout)
        if self.wait(self.clock + self.scaled(ring), decision=True) == "decision":
            if call.decision[0] == "decline":
                call.end("callee", "busy")
                raise HungUp
            return call.decision[1]
        if callee.answer in ("interactive", "no-answer") or callee.ring > spec.timeout:
            call.end(None, "no-answer")
            raise HungUp
        return callee.answer

    def _answer(self, as_: str) -> None:
        call, spec = self.call, self.spec
        call.set_phase("in-progress", "in-progress")
        call.update_record(answered_as=as_)  # who picked up: human, machine or fax
        self.status_event("answered", "in-progress")
        self.schedule(spec.time_limit, lambda: call.end("time_limit"))
        if self.callee.hangup_after is not None:
            self.schedule(self.callee.hangup_after, lambda: call.end("callee"))
        if spec.send_digits:  # Twilio ignores MachineDetection when SendDigits is given
            self.sleep(sum(SEND_DIGIT_PAUSES.get(c, 0.0) for c in spec.send_digits))
            call.record("send_digits", digits=spec.send_digits)
        elif spec.machine_detection:
            result, delay = self._detect(as_)
            if spec.async_amd:
                self.schedule(delay, lambda: self._detected(result, delay))
            else:  # synchronous: the answer webhook waits for the result and carries it
                self.sleep(delay)
                self._detected(result, delay)
                self.sync_amd = True

    def _detect(self, as_: str) -> tuple[str, float]:
        if self.callee.detection_delay > self.spec.amd_timeout:
            return "unknown", float(self.spec.amd_timeout)
        if as_ in ("human", "fax"):
            result = as_
        else:
            end = self.spec.machine_detection == "DetectMessageEnd"
            result = "machine_end_beep" if end else "machine_start"
        return result, self.callee.detection_delay

    def _detected(self, answered_by: str, delay: float) -> None:
        self.answered_by = answered_by
        self.call.update_record(answered_by=answered_by)
        self.call.record("amd", answered_by=answered_by)
        if self.spec.async_amd and self.spec.amd_callback:
            params = {"AccountSid": self.hooks.account_sid, "CallSid": self.call.sid,
                      "AnsweredBy": answered_by,
                      "MachineDetectionDuration": str(int(delay * 1000))}
            self.lane.submit("amd_callbacks", self.spec.amd_callback,
                             self.spec.amd_callback_method, params)

    def _finish(self) -> None:
        call = self.call
        call.end("standin")  # no-op unless the executor failed
        if call.ended_by:
            call.record("hangup", by=call.ended_by)
        if not call.discarded:
            self.status_event("completed")
        self.lane.close(timeout=1.0 if call.discarded else None)
        call.update_record(finished=True)

    # -- webhooks -----------------------------------------------------------
    def base_params(self, call_status: str) -> dict[str, str]:
        return {"AccountSid": self.hooks.account_sid, "CallSid": self.call.sid,
                "From": self.spec.from_, "To": self.spec.to, "CallStatus": call_status,
                "Direction": "outbound-api", "ApiVersion": "2010-04-01"}

    def status_event(self, event: str, call_status: str | None = None) -> None:
        """Post a call-progress event if it was asked for; `completed` reports
        the final status and duration written by LiveCall.end()."""
        spec, call = self.spec, self.call
        if not spec.status_callback or event not in spec.events:
            return
        params = self.base_params(call_status or call.final_status or "")
        if event == "completed":
            params["CallDuration"] = call.final_duration or "0"
            if self.answered_by:
                params["AnsweredBy"] = self.answered_by
        params.update(Timestamp=rfc2822_now(), CallbackSource="call-progress-events",
                      SequenceNumber=str(next(self._callback_seq)))
        self.lane.submit("callbacks", spec.status_callback, spec.status_callback_method, params,
                         event=event, CallStatus=params["CallStatus"])

    def fetch(self, url: str, method: str,
              extra: dict[str, str] | None = None) -> tuple[dict, bytes]:
        """Request TwiML; records a "webhook" event. Raises HungUp / Redirected
        if the call changed meanwhile."""
        params = self.base_params("in-progress")
        if self.sync_amd and self.answered_by:
            params["AnsweredBy"] = self.answered_by
        params.update(extra or {})
        if self.call.discarded:
            raise HungUp
        outcome, body = self.hooks.send(url, method, params, self.hooks.webhook_timeout)
        self.call.record("webhook", url=url, method=method, params=params,
                         http_status=outcome["http_status"], error=outcome["error"])
        self.caught_up()
        with self.call.cond:
            self.check()
        return outcome, body

    # -- Gather support -------------------------------------------------------
    def begin_gather(self, attributes: dict, dtmf: bool) -> list | None:
        """Open the keypad to this Gather and queue the callee's scripted
        answer to it (keys, silence or hang-up)."""
        call = self.call
        self.caught_up()  # the keypad listens in real time (control-API presses)
        with call.cond:  # atomically with hang-ups, so an ended call never shows a Gather
            self.check()
            call.keys.clear()
            call.gather_dtmf = dtmf
            call.update_record(gathering=True, gather=attributes)
        entry = self._script.pop(0) if self._script else None
        if entry == "hangup":
            return self.schedule(self.callee.key_delay, lambda: call.end("callee"))
        if entry:
            return self.schedule(self.callee.key_delay,
                                 lambda: call.press(entry, "script", when=self.clock))
        return None

    def take_keys(self) -> list[tuple[str, float]]:
        with self.call.cond:
            keys, self.call.keys = self.call.keys, []
            return keys

    def end_gather(self, timer: list | None) -> None:
        if timer is not None:
            timer[2] = None  # a press not due yet is never made
        with self.call.cond:
            self.call.gather_dtmf = None
            self.call.keys = []
            self.call.update_record(gathering=False, gather=None)
