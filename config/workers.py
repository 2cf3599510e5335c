"""gunicorn's threaded worker, sharing kept-alive connections evenly among the workers, and
reading each request whole in its loop before a thread serves it.

Reading
-------
gunicorn's threads read requests themselves, with no deadline: a client sending its headers a
byte at a time holds a thread for as long as it likes, and a few dozen such clients hold them
all. And a connection closed after its answer lingers on the worker's loop for up to 2 s, to
drain what the client still sends: a few dozen never-ending bodies stop the loop, which then
neither accepts nor tells the master it lives (the master kills it).

So the loop itself reads each request, from non-blocking sockets, until it is whole
(config/framing.py), and only then hands it to a thread, which parses it from memory. A request
must be whole within REQUEST_SECONDS of its first byte, or of the connection's opening; after
that it is answered 408 and the connection closed. A body over the limit is not waited for: the
app refuses what it has received (413), and the connection closes. Closing lingers on the loop
too, without blocking it. A thread never waits on the client for longer than REQUEST_SECONDS
(the kernel's timeouts on the socket), should a request reach it unfinished.

Balancing
---------

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

import errno
import json
import multiprocessing
import os
import selectors
import socket
import time
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from config.framing import RequestEnd, Unframed, expects_continue
from verify import errors, shutdown
from verify.store.round_trip import timeouts_in_kernel

# Each worker's loop wakes at least once a second (gthread's poll timeout) and writes its count.
STALE_SECONDS = 3.0
# ...and, while its share alone keeps it from accepting, this often: a connection arriving when
# the other workers have grown past it waits in the listen queue until this worker looks again.
SHARE_SECONDS = 0.05
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

REQUEST_SECONDS = 10.0  # to receive a request whole
# Told to stop, a worker goes on serving this long with readiness failing (verify/shutdown.py);
# load_settings refuses a value outside 0-15, within the 20 s gunicorn waits for a worker.
_drain = os.environ.get("SHUTDOWN_DRAIN_SECONDS", "").strip()
DRAIN_SECONDS = int(_drain) if _drain.isdigit() else 5
LINGER_SECONDS = 2.0  # a closing connection drains what the client still sends, this long at most
LINGER_BYTES = 64 * 1024  # ...and this much at most
RECV_BYTES = 64 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
WHOLE, WAIT, CLOSED = "whole", "wait", "closed"  # how receiving a request stands


def _refusal(status_line: bytes, message: str, status: int) -> bytes:
    """A whole HTTP response in Twilio's error shape, written by the loop itself."""
    body = json.dumps(errors.VerifyError(errors.INVALID_PARAMETER, message, status).to_dict()).encode()
    return (status_line + b"\r\nConnection: close\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


TIMED_OUT = _refusal(b"HTTP/1.1 408 Request Timeout", "Request Timeout: the request was not received whole "
                     f"within {REQUEST_SECONDS:.0f} seconds.", 408)


class Reading:
    """A request being received: its bytes so far, and when it must be whole."""
    __slots__ = ("conn", "buffer", "deadline", "end", "continued")

    def __init__(self, conn: Connection, received: bytes, deadline: float):
        self.conn, self.buffer, self.deadline = conn, bytearray(received), deadline
        self.end = RequestEnd()
        self.continued = False


class Connection(TConn):
    """gunicorn's connection, closed by the worker's loop without blocking it."""

    def __init__(self, worker: BalancedThreadWorker, *args):
        super().__init__(*args)
        self.worker = worker
        self.close_after = False  # served as received, its end unknown: not kept alive
        self.timeouts_set = False

    def close(self, graceful=False):
        if graceful:
            self.worker.linger(self)
        else:
            super().close()


class BalancedThreadWorker(ThreadWorker):
    slot = 0  # set by the master before the fork (config/gunicorn.conf.py's pre_fork)
    drain_until: float | None = None  # monotonic; set by SIGTERM

    def init_process(self):
        # Each in the order of its deadline: every deadline is its start plus the same time.
        self.readings: dict[Reading, None] = {}
        self.lingering: dict[Connection, list] = {}  # -> [deadline, bytes drained]
        super().init_process()  # runs the loop

    # -- balancing -------------------------------------------------------------------------
    def _may_accept(self) -> bool:
        fewest = ledger.fewest_of_others(self.slot)
        return fewest is None or self.nr_conns <= fewest

    def set_accept_enabled(self, enabled):
        # The loop turns accepting back on whenever there is room: only while this worker's
        # share allows it too.
        super().set_accept_enabled(enabled and self._may_accept())

    def accept(self, listener):
        if self.cfg.is_ssl:  # gunicorn's own TLS: its threads read the requests, as gunicorn does
            super().accept(listener)
        else:
            try:
                sock, address = listener.accept()
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            self.nr_conns += 1
            self._receive(Connection(self, self.cfg, sock, address, listener.getsockname()), b"")
        ledger.write(self.slot, self.nr_conns)
        if not self._may_accept():
            super().set_accept_enabled(False)

    # -- stopping ------------------------------------------------------------------------------
    def handle_exit(self, sig, frame):
        """SIGTERM: drain first (verify/shutdown.py), then stop as gunicorn does."""
        if self.alive and self.drain_until is None and DRAIN_SECONDS > 0:
            shutdown.draining.set()
            self.drain_until = time.monotonic() + DRAIN_SECONDS
            return
        super().handle_exit(sig, frame)

    def wait_for_and_dispatch_events(self, timeout):
        if self.drain_until is not None and self.alive:
            left = self.drain_until - time.monotonic()
            if left <= 0:
                # Drained: gthread's loop ends after this turn, accepts no more, and finishes
                # what it holds (its graceful stop, which calls this again, not alive).
                self.alive = False
            timeout = max(0.0, min(timeout, left))
        ledger.write(self.slot, self.nr_conns)  # connections closed since are counted here
        if self.alive and not self._accepting and self.nr_conns < self.worker_connections:
            # Held back by its share only: another worker's connections may have outgrown it
            # meanwhile, and nothing else wakes a loop whose connections are quiet.
            timeout = min(timeout, SHARE_SECONDS)
        super().wait_for_and_dispatch_events(timeout)
        self._end_overdue(time.monotonic())

    # -- reading ---------------------------------------------------------------------------
    def enqueue_req(self, conn):
        """A connection with a request coming (new, kept alive, or holding the start of the
        next request): the loop reads it whole first."""
        if isinstance(conn, Connection):
            self._receive(conn, conn.parser.unreader.take_buffered() if conn.parser else b"")
        else:
            super().enqueue_req(conn)

    def _receive(self, conn: Connection, received: bytes) -> None:
        reading = Reading(conn, received, time.monotonic() + REQUEST_SECONDS)
        if conn.sock.getblocking():
            conn.sock.setblocking(False)
        # A kept-alive connection comes here once its next request is readable: most often
        # whole at once, handed over without waiting on the poller.
        progress = self._progress(reading)
        if progress is WAIT:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, reading))
            self.readings[reading] = None
        else:
            self._done_reading(reading, progress)

    def _on_readable(self, reading: Reading, _sock) -> None:
        progress = self._progress(reading)
        if progress is not WAIT:
            self.poller.unregister(reading.conn.sock)
            del self.readings[reading]
            self._done_reading(reading, progress)

    def _progress(self, reading: Reading):
        """Receive what has arrived: WHOLE, WAIT for more, or CLOSED by the client."""
        while not self._whole(reading):
            try:
                data = reading.conn.sock.recv(RECV_BYTES)
            except BlockingIOError:
                return WAIT
            except OSError:
                data = b""
            if not data:
                return CLOSED
            reading.buffer += data
        return WHOLE

    def _done_reading(self, reading: Reading, progress) -> None:
        if progress is WHOLE:
            self._hand_over(reading)
        else:  # closed by the client before its request was whole
            self.nr_conns -= 1
            reading.conn.close()

    @staticmethod
    def _whole(reading: Reading) -> bool:
        """Whether the request is whole, or as whole as it will be read (then the connection
        closes after its answer)."""
        try:
            if reading.end.of(reading.buffer) is not None:
                return True
        except Unframed:
            reading.conn.close_after = True
            return True
        if not reading.continued and reading.end.head is not None:
            reading.continued = True  # the head is whole: a client may wait for leave to send the body
            if expects_continue(reading.end.head):
                _send(reading.conn.sock, CONTINUE)
        return False

    def _hand_over(self, reading: Reading) -> None:
        """The request to a thread, which parses it from memory."""
        conn = reading.conn
        conn.init()  # gunicorn's parser, made once per connection (the socket becomes blocking)
        if not conn.timeouts_set:
            timeouts_in_kernel(conn.sock, REQUEST_SECONDS)  # a thread never waits on the client longer
            conn.timeouts_set = True
        conn.parser.unreader.unread(bytes(reading.buffer))  # the request, and what came after it
        conn.data_ready = True
        super().enqueue_req(conn)

    def _keepalive_after(self, conn, keepalive):
        if getattr(conn, "close_after", False):
            return False
        return super()._keepalive_after(conn, keepalive)

    # -- closing ---------------------------------------------------------------------------
    def linger(self, conn: Connection) -> None:
        """Close after the answer has gone: the client's side first, then drain what it still
        sends (a close with unread data makes the kernel reset the connection, which can cut
        the answer short), for LINGER_SECONDS and LINGER_BYTES at most, from the loop."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
        except OSError:
            util.close(conn.sock)
            return
        self.lingering[conn] = [time.monotonic() + LINGER_SECONDS, 0]
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_lingering, conn))

    def _on_lingering(self, conn: Connection, _sock) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        drained = self.lingering.get(conn)
        if drained is None:  # closed already
            return
        drained[1] += len(data)
        if not data or drained[1] >= LINGER_BYTES:
            self._closed(conn)

    def _closed(self, conn: Connection) -> None:
        del self.lingering[conn]
        self.poller.unregister(conn.sock)
        util.close(conn.sock)

    def _end_overdue(self, now: float) -> None:
        """408 to the requests not whole in time; close the connections done lingering."""
        while self.readings:
            reading = next(iter(self.readings))
            if reading.deadline > now:
                break
            del self.readings[reading]
            self.poller.unregister(reading.conn.sock)
            self.nr_conns -= 1
            _send(reading.conn.sock, TIMED_OUT)
            self.linger(reading.conn)
        while self.lingering:
            conn, (deadline, _) = next(iter(self.lingering.items()))
            if deadline > now:
                break
            self._closed(conn)


def _send(sock, data: bytes) -> None:
    """What a non-blocking socket takes of `data` now; a client that does not read gets less."""
    try:
        sock.send(data)
    except OSError:
        pass
