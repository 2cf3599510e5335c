"""StandIn: runs the stand-in app on a threaded werkzeug server in a
background thread, with Python methods mirroring the /_standin control API.

Threaded because callers (and the benchmark, ~200 req/s with 150 ms latency)
keep many requests in flight while each one sleeps to emulate Twilio.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_standin_app
from .context import EXTENSION_KEY, StandInContext

log = logging.getLogger("twilio_standin")


class _RequestHandler(WSGIRequestHandler):
    """One log line per request on the twilio_standin logger (werkzeug's own
    logger would install a stderr handler on first use)."""

    quiet = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.quiet:
            log.info('%s "%s %s" %s', self.address_string(), self.command, self.path, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class StandIn:
    def __init__(self, account_sid: str, auth_token: str, host: str = "127.0.0.1",
                 port: int = 0, send_delay: float = 0.0, callback_timeout: float = 10.0,
                 quiet: bool = True, time_scale: float = 1.0, default_callee: str = "human",
                 webhook_timeout: float = 15.0):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.app = create_standin_app(account_sid, auth_token, send_delay=send_delay,
                                      callback_timeout=callback_timeout, time_scale=time_scale,
                                      default_callee=default_callee,
                                      webhook_timeout=webhook_timeout)
        self._ctx: StandInContext = self.app.extensions[EXTENSION_KEY]
        handler = type("RequestHandler", (_RequestHandler,), {"quiet": quiet})
        # Bound here (not in start) so .port/.base_url are known right away.
        self._server = make_server(host, port, self.app, threaded=True, request_handler=handler)
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def start(self) -> "StandIn":
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.1},
                                            name="twilio-standin", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._ctx.stopping.set()  # wake requests sleeping in a delay
        self._ctx.store.wake()  # and the dev phone's event streams, which then end
        self._ctx.calls.shutdown()  # calls in flight hang up at once, silently
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self._ctx.dispatcher.shutdown()

    def __enter__(self) -> "StandIn":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- control (same as the /_standin API) ----------------------------
    @property
    def send_delay(self) -> float:
        return self._ctx.send_delay

    @send_delay.setter
    def send_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("send_delay must be >= 0")
        self._ctx.send_delay = float(seconds)

    def add_fault(self, to: str | None = None, **spec: Any) -> dict[str, Any]:
        """Fields as POST /_standin/faults: http_status, code, message, retry_after,
        delay, delivery, error_code, times. `to=None` applies to every number."""
        return self._ctx.faults.add(to=to, **spec).as_dict()

    def faults(self) -> list[dict[str, Any]]:
        return self._ctx.faults.list()

    def clear_faults(self) -> None:
        self._ctx.faults.clear()

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        return self._ctx.store.messages(to)

    def message(self, sid: str) -> dict[str, Any] | None:
        return self._ctx.store.get_message(sid)

    def requests(self, to: str | None = None, resource: str | None = None) -> list[dict[str, Any]]:
        """Create attempts, accepted or not; resource="Messages" or "Calls" for one kind."""
        return self._ctx.store.requests(to, resource)

    def clear(self) -> None:
        """Forget messages, calls and requests; calls in flight hang up without
        any further webhook. Callee scripts and faults stay (clear_callees,
        clear_faults)."""
        self._ctx.clear()

    def wait_for_message(self, to: str, timeout: float = 5.0, count: int = 1) -> dict[str, Any]:
        """Block until >= `count` messages to `to` were received; return the
        latest. Raises TimeoutError."""
        return self._ctx.store.wait_for_message(to, timeout=timeout, count=count)

    def wait_for_callbacks(self, sid: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until `count` status callbacks for `sid` completed (whatever
        the receiver answered); return them in order. Raises TimeoutError."""
        return self._ctx.store.wait_for_callbacks(sid, count, timeout=timeout)

    # -- calls ------------------------------------------------------------
    def set_callee(self, number: str, *, answer: str = "human", ring: float = 0.5,
                   detection_delay: float = 1.0, keys: Any = (), key_delay: float = 0.3,
                   hangup_after: float | None = None) -> dict[str, Any]:
        """Script the phone at `number` (see callee.py). answer: human, machine,
        fax, busy, no-answer, failed or interactive; keys: one entry per Gather
        of each call, a string of keys, None (silent) or "hangup"."""
        return self._ctx.callees.set(
            number, answer=answer, ring=ring, detection_delay=detection_delay, keys=keys,
            key_delay=key_delay, hangup_after=hangup_after).as_dict()

    def callees(self) -> list[dict[str, Any]]:
        return self._ctx.callees.list()

    def clear_callees(self) -> None:
        self._ctx.callees.clear()

    def calls(self, to: str | None = None) -> list[dict[str, Any]]:
        return self._ctx.store.calls(to)

    def call(self, sid: str) -> dict[str, Any] | None:
        return self._ctx.store.get_call(sid)

    def wait_for_call(self, to: str, timeout: float = 5.0, count: int = 1) -> dict[str, Any]:
        """Block until >= `count` calls to `to` were created; return the latest."""
        return self._ctx.store.wait_for_call(to, timeout=timeout, count=count)

    def wait_for_call_end(self, sid: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the call has ended and its final status callback (if
        any) was posted; return its record."""
        return self._ctx.store.wait_for_call_where(
            sid, lambda r: r.get("finished"), timeout, "the end")

    def wait_for_gather(self, sid: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until a Gather of the call is listening for keys; return the
        record. Raises RuntimeError if the call ends first."""
        record = self._ctx.store.wait_for_call_where(
            sid, lambda r: r.get("gathering") or r.get("state") == "ended", timeout, "a Gather")
        if not record["gathering"]:
            raise RuntimeError(f"call {sid} ended ({record['status']}) before a Gather started")
        return record

    def answer_call(self, sid: str, as_: str = "human") -> None:
        """Pick up a ringing (or queued) call, as "human" or "machine" (e.g.
        voicemail picks up) or "fax"."""
        self._ctx.calls.answer(sid, as_)

    def decline_call(self, sid: str) -> None:
        """Reject a ringing call: it ends busy."""
        self._ctx.calls.decline(sid)

    def press(self, sid: str, digits: str) -> bool:
        """Press keys on the callee's phone; True if a Gather received them
        (keys pressed while none runs are lost, as on a real phone)."""
        return self._ctx.calls.press(sid, digits)

    def hang_up(self, sid: str) -> None:
        """The callee hangs up (declines if the call is still ringing)."""
        self._ctx.calls.hang_up(sid)
