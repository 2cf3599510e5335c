"""How many of a worker process's threads may wait on Twilio at once.

gunicorn gives each worker process a fixed number of threads (GUNICORN_THREADS), and a
request to Twilio's REST API holds its thread until Twilio answers, for up to
TWILIO_TIMEOUT_SECONDS. With Twilio slow, enough simultaneous starts would hold every thread,
and checks and Twilio's webhooks, which never wait on Twilio, would queue behind them. So at
most TWILIO_THREADS_PER_WORKER of a process's threads wait on Twilio at once, and the others
stay free for everything else.

The count is the process's own, not shared through Redis: the threads it protects are the
process's own, and a process whose share is taken has no thread to spare for another's. A
request that finds no slot free is refused at once rather than queued: waiting for a slot
would hold the very thread the share keeps free. A start takes its slot before it stores or
counts anything (verify/verifications.py), so a refusal changes nothing; every other request
to Twilio (a call hung up) takes one around the request itself (client.py).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .. import errors
from ..errors import VerifyError

log = logging.getLogger("telverify.twilio")


class NoCarrierSlot(VerifyError):
    """Every slot is taken: 503, 20503, with Retry-After. Nothing was sent, stored or counted."""


class CarrierSlots:
    """The slots of one process; a thread holds at most one, however often it asks."""

    def __init__(self, size: int, timeout_seconds: float):
        self.size = size
        # Every request in flight has ended by then (TWILIO_TIMEOUT_SECONDS), so a slot is free.
        self.longest_retry_after = max(1, math.ceil(timeout_seconds))
        self._lock = threading.Lock()
        self._held: dict[int, list] = {}  # thread id -> [depth, time.monotonic() when taken]

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot while the block runs, or raise NoCarrierSlot at once. Within a block that
        holds one already (a start, then its send's request), the same slot serves."""
        me, now = threading.get_ident(), time.monotonic()
        with self._lock:
            held = self._held.get(me)
            full = held is None and len(self._held) >= self.size
            if full:
                oldest = min(since for _, since in self._held.values())
            else:
                if held is None:
                    held = self._held[me] = [0, now]
                held[0] += 1
        if full:
            raise self._refusal(now - oldest)
        try:
            yield
        finally:
            with self._lock:
                held[0] -= 1
                if not held[0]:
                    del self._held[me]

    def _refusal(self, waited: float) -> NoCarrierSlot:
        """A slot frees when a request in flight ends. The longest any of them has waited
        (`waited`) says how slowly Twilio answers now (a fraction of a second usually, seconds
        when it is slow), and so about when to try again."""
        seconds = min(max(1, math.ceil(waited)), self.longest_retry_after)
        log.warning("a request to Twilio refused at once: all %d of this process's Twilio slots are waiting on "
                    "Twilio, the longest for %.1f s", self.size, waited)
        return NoCarrierSlot(
            errors.SERVICE_UNAVAILABLE, f"telverify is waiting on Twilio for as many sends as it allows at once "
            f"(Twilio is answering slowly); nothing was sent or counted. Try again in {seconds} seconds.", 503,
            {"Retry-After": str(seconds)})
