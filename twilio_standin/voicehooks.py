"""Signed webhook requests of the voice platform, and the per-call lane that
posts a call's status and AMD callbacks in order.

Twilio posts status callbacks asynchronously: a slow receiver never holds up
the call. The lane gives the same (its own thread per call) while keeping one
call's callbacks in order, so `completed` is always the last.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from twilio.request_validator import RequestValidator

from .callbacks import rfc2822_now, send_form, signed_request
from .livecall import LiveCall
from .state import Store

log = logging.getLogger("twilio_standin.voice")


class Webhooks:
    def __init__(self, account_sid: str, auth_token: str, webhook_timeout: float = 15.0,
                 callback_timeout: float = 10.0) -> None:
        self.account_sid = account_sid
        self.webhook_timeout = webhook_timeout
        self.callback_timeout = callback_timeout
        self._validator = RequestValidator(auth_token)

    def send(self, url: str, method: str, params: dict[str, str],
             timeout: float) -> tuple[dict[str, Any], bytes]:
        """One signed request; never raises. Returns (outcome, response body)."""
        target, form, signature = signed_request(self._validator, url, method, params)
        outcome: dict[str, Any] = {"url": url, "method": method, "params": params,
                                   "http_status": None, "error": None, "at": rfc2822_now()}
        body = b""
        try:
            outcome["http_status"], body = send_form(target, method, form, signature, timeout)
        except Exception as exc:  # refused, timeout, bad URL...
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        return outcome, body


class CallbackLane:
    def __init__(self, call: LiveCall, store: Store, hooks: Webhooks) -> None:
        self._call = call
        self._store = store
        self._hooks = hooks
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, kind: str, url: str, method: str, params: dict[str, str],
               **extra: Any) -> None:
        """kind: the record list the outcome goes to ("callbacks" or "amd_callbacks")."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, daemon=True,
                                            name=f"standin-cb-{self._call.sid[:10]}")
            self._thread.start()
        self._queue.put((kind, url, method, params, extra))

    def close(self, timeout: float | None = None) -> None:
        """Wait until everything submitted was posted (each post is bounded by
        the callback timeout)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, url, method, params, extra = item
            if self._call.discarded:
                continue
            try:
                outcome, _ = self._hooks.send(url, method, params, self._hooks.callback_timeout)
                if outcome["error"] or outcome["http_status"] >= 400:
                    log.warning("%s %s for %s: %s", kind, url, self._call.sid,
                                outcome["error"] or f"HTTP {outcome['http_status']}")
                self._store.add_call_callback(self._call.sid, kind, {**extra, **outcome})
            except Exception:  # the lane must never die and leave close() hanging
                log.exception("callback for %s failed", self._call.sid)
