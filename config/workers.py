"""gunicorn's threaded worker, sharing kept-alive connections evenly among the workers.

A kept-alive connection stays with the worker that accepted it for as long as it lives, and
which worker that is was left to chance: the kernel's hash of the connection (a socket per
worker, SO_REUSEPORT), or whichever worker woke first (one shared socket; seen: 14 of 16
connections on one worker). With the kernel's hash, 16 connections on 2 workers split 10+6 or
worse in about half the benchmark's runs, and 11+5 in one in five: the worker holding 11
answered each of them more slowly, its core saturated, while the other core had time to
spare. A proxy in front of telverify, holding a few upstream connections for all its
clients, meets the same lottery.

So the workers share one listening socket, and each accepts only while it holds no more
connections than the least loaded of the others: a small array shared by the workers (made in
the master, inherited at fork) holds each worker's count and when it last wrote it. A worker
that has not written for STALE_SECONDS (hung, or gone) is left out, so it cannot keep the
others from accepting.
"""
from __future__ import annotations

import multiprocessing
import time

from gunicorn.workers.gthread import ThreadWorker

# Each worker's loop wakes at least once a second (gthread's poll timeout) and writes its count.
STALE_SECONDS = 3.0
SLOTS = 256  # workers at once, counting a few being replaced (TTIN can add workers at run time)


class Ledger:
    """Connections each worker slot holds, and when its worker last said so."""

    def __init__(self, slots: int = SLOTS):
        self.counts = multiprocessing.RawArray("i", slots)
        self.seen = multiprocessing.RawArray("d", slots)  # time.monotonic(); 0: no worker there
        self.top = multiprocessing.RawValue("i", 0)  # slots below it have been used: the ones to read

    def claim(self, taken: set[int]) -> int:
        """In the master, before the fork: a slot no living worker holds (the lowest, so that
        the slots read stay few)."""
        slot = min(set(range(len(self.counts))) - taken)
        self.top.value = max(self.top.value, slot + 1)
        return slot

    def write(self, slot: int, count: int) -> None:
        self.counts[slot], self.seen[slot] = count, time.monotonic()

    def leave(self, slot: int) -> None:
        self.seen[slot] = 0.0

    def fewest_of_others(self, slot: int) -> int | None:
        """The smallest count of the other workers heard from lately; None when there are none."""
        fresh = time.monotonic() - STALE_SECONDS
        counts = [self.counts[i] for i in range(self.top.value) if i != slot and self.seen[i] > fresh]
        return min(counts) if counts else None


ledger = Ledger()


class BalancedThreadWorker(ThreadWorker):
    slot = 0  # set by the master before the fork (config/gunicorn.conf.py's pre_fork)

    def _may_accept(self) -> bool:
        fewest = ledger.fewest_of_others(self.slot)
        return fewest is None or self.nr_conns <= fewest

    def set_accept_enabled(self, enabled):
        # The loop turns accepting back on whenever there is room: only while this worker's
        # share allows it too.
        super().set_accept_enabled(enabled and self._may_accept())

    def accept(self, listener):
        super().accept(listener)
        ledger.write(self.slot, self.nr_conns)
        if not self._may_accept():
            super().set_accept_enabled(False)

    def wait_for_and_dispatch_events(self, timeout):
        ledger.write(self.slot, self.nr_conns)  # connections closed since are counted here
        super().wait_for_and_dispatch_events(timeout)
