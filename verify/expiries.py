"""Counting the verifications whose codes expire unused (telverify_verifications_ended_total,
status "expired").

An expiry is no event: nothing is written when a code's time passes, and a pending verification
reads as expired from then on (model.status_at). So each process remembers the verifications it
started, with their codes' expiry, and once that time has passed reads each one's status: one
still pending then has expired, and is counted. One ended otherwise (approved, canceled, ...)
was counted when it ended, by whichever process ended it. Each verification is counted by the
process that started it, once.

The reads are due at the process's next scrape of /metrics (before it answers, so a scrape sees
every expiry that process had due) and, so that what a process remembers stays bounded, at a
start, at most once a second. A process that stops forgets what it had not yet read: the
verifications it started in the last code lifetime before it stopped are not counted if they
expire.
"""
from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable

from . import metrics
from .store.connection import STORE_ERRORS

log = logging.getLogger("telverify.expiries")

WATCHED_AT_MOST = 200_000  # per process: about 150 codes a second for their 10 minutes, with room
READ_AT_ONCE = 500  # verifications read in one round trip
EVERY = 1.0  # seconds between two reads from a start


class Expiries:
    def __init__(self, statuses: Callable[[list[tuple[str, str]], float], list[tuple[str, str, float] | None]]):
        # statuses: the store's (status, channel, expires_at) of each (service sid, sid), or None
        self._statuses = statuses
        self._due: list[tuple[float, str, str]] = []  # (expires_at, service sid, sid), a heap
        self._lock = threading.Lock()
        self._read_at = 0.0

    def started(self, service_sid: str, sid: str, expires_at: float) -> None:
        with self._lock:
            if len(self._due) < WATCHED_AT_MOST:
                heapq.heappush(self._due, (expires_at, service_sid, sid))

    def count_due_soon(self, now: float) -> None:
        """count_due, unless this process read less than EVERY seconds ago: for starts."""
        if now - self._read_at < EVERY:
            return
        with self._lock:  # another thread may pop the last entry between a look and a read of it
            due = bool(self._due) and self._due[0][0] <= now
        if due:
            self.count_due(now)

    def count_due(self, now: float) -> None:
        """Read every remembered verification whose code has expired by `now`, and count those
        still pending. A read Redis fails is tried again at the next."""
        self._read_at = now
        while True:
            with self._lock:
                due = []
                while self._due and self._due[0][0] <= now and len(due) < READ_AT_ONCE:
                    due.append(heapq.heappop(self._due))
            if not due:
                return
            try:
                found = self._statuses([(service, sid) for _, service, sid in due], now)
            except STORE_ERRORS as exc:
                log.warning("expired verifications not counted yet (Redis: %s); tried again later",
                            type(exc).__name__)
                with self._lock:
                    for entry in due:
                        heapq.heappush(self._due, entry)
                return
            for (_, service, sid), state in zip(due, found):
                if state is None:  # gone: its service deleted
                    continue
                status, channel, expires_at = state
                if status == "expired":
                    metrics.ended(service, channel, "expired")
                elif status == "pending":  # its expiry moved past the one remembered: read it then
                    self.started(service, sid, expires_at)
            if len(due) < READ_AT_ONCE:
                return
