"""One Redis round trip on a connection the calling thread keeps: the hot paths' way to Redis
(a check, a fetch, a call's webhooks). On a Redis Cluster, `ClusterRoundTrip` sends the same
commands through the cluster client.

redis-py's pool and Pipeline do work of their own on every call (a pid check, a poll of the
socket for stray bytes, the pool's lock, building and resetting the Pipeline), a sizeable part
of what a round trip costs the app; on the requests the benchmark holds to its targets, this
module costs a tenth of their throughput less (docs/performance.md, "Custom parts"). So those
requests send their commands on a connection of their thread's own, made with the client's
settings; everything else uses the client.

Two more savings, both on a round trip that is most of what those requests do:
- Commands are packed by hiredis itself, without redis-py's argument checks.
- The socket is blocking, its timeout kept by the kernel (SO_RCVTIMEO/SO_SNDTIMEO). A Python
  socket timeout makes every send and recv a poll() first, each a syscall and a release of the
  GIL, which under load another thread takes; blocking, a round trip is one send and one recv.

A command is never sent twice: once its bytes have gone out, Redis may run it whatever becomes
of the connection (a timeout, a reset, a restart after its append-only file took the write),
and a check must count once. A connection that has lain unused is looked at before it is used
instead: one that Redis closed meanwhile (a restart, an idle timeout) is readable, and is
replaced before anything is sent on it.
"""
from __future__ import annotations

import functools
import os
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import hiredis
import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .sentinel import WatchedPool

IDLE_SECONDS = 1.0  # a connection unused this long is looked at before it is used again

# How many forks made this process, counted as they happen: a connection made before a fork is
# the parent's, and the child must not share its socket. Asking os.getpid() instead costs every
# round trip a system call, made holding the GIL: a point where the kernel can switch the thread
# out with the GIL held, and the worker's other threads wait.
_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


class RoundTrip:
    def __init__(self, client: redis.Redis):
        pool = client.connection_pool
        self._new_connection = functools.partial(pool.connection_class, **pool.connection_kwargs)
        self._timeout = pool.connection_kwargs.get("socket_timeout")
        self._local = threading.local()
        self._watched = pool if isinstance(pool, WatchedPool) else None  # a primary Sentinel names

    def _connection(self):
        local = self._local
        if getattr(local, "forks", None) != _forks:  # new, or made before a fork: the parent's socket
            local.connection, local.forks = self._new_connection(), _forks
        connection = local.connection
        if (connection._sock is not None and time.monotonic() - getattr(local, "used", 0.0) > IDLE_SECONDS
                and select.select([connection._sock], [], [], 0)[0]):
            # Readable before anything was sent: closed by Redis (or holding stray bytes).
            connection.disconnect()
        if connection._sock is not None and self._watched is not None and not self._watched.reaches_primary(connection):
            connection.disconnect()  # a primary since demoted: its writes would be lost
        if connection._sock is None:  # new, or dropped after an error
            connection.connect()  # the handshake (AUTH, SELECT...) under the client's own timeouts
        if connection._sock is not getattr(local, "tuned", None):
            # A socket of its own (or one redis-py opened when its health check reconnected).
            timeouts_in_kernel(connection._sock, self._timeout)
            local.tuned = connection._sock
        return connection

    def send(self, *commands: tuple) -> list:
        """Each command's reply, in order. An error reply comes back as its exception (the
        caller can tell a NOSCRIPT from the rest); a lost connection or a timeout raises."""
        packed = b"".join([hiredis.pack_command(command) for command in commands])
        connection = self._connection()
        try:
            connection.send_packed_command([packed])
            replies = [_reply(connection) for _ in commands]
        except RedisConnectionError as error:
            connection.disconnect()
            if isinstance(error.__context__, BlockingIOError):  # the kernel's timeout
                raise RedisTimeoutError(f"Redis did not answer within {self._timeout} s") from error
            raise  # the commands may have reached Redis: never sent again
        except BaseException:
            connection.disconnect()  # never leave half a reply for the next call to read
            raise
        self._local.used = time.monotonic()
        return replies


class ClusterRoundTrip:
    """RoundTrip's `send` on a Redis Cluster, whose commands go to the nodes that hold their
    keys: through the cluster client, which knows the slots and follows a MOVED or ASK. One
    command after another, not in redis-py's ClusterPipeline: that first asks a node for each
    EVALSHA's keys (COMMAND GETKEYS), a round trip of its own, so it saves none; and it sends a
    command whose reply timed out once more, so a slow node would count a check twice. Here a
    timeout raises, as on one Redis, and nothing after it is sent."""

    def __init__(self, client: RedisCluster):
        self._execute = client.execute_command

    def send(self, *commands: tuple) -> list:
        replies = []
        for command in commands:
            try:
                replies.append(self._execute(*command))
            except ResponseError as error:  # an error reply, as RoundTrip answers it
                replies.append(error)
        return replies


def timeouts_in_kernel(sock: socket.socket, timeout: float | None) -> None:
    """Make `sock` blocking with the same timeout, kept by the kernel. A timed-out call then
    fails with EAGAIN (BlockingIOError), which redis-py reports as a ConnectionError. TLS
    sockets keep Python's timeout: their reads are not a single recv."""
    if not timeout or isinstance(sock, ssl.SSLSocket):
        return
    whole = int(timeout)
    timeval = struct.pack("ll", whole, int((timeout - whole) * 1_000_000))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    except OSError:  # a platform whose timeval is laid out otherwise: keep Python's timeout
        return
    sock.settimeout(None)


def _reply(connection):
    try:
        return connection.read_response()
    except ResponseError as error:
        return error


def for_client(client: redis.Redis | RedisCluster) -> RoundTrip | ClusterRoundTrip:
    """The round trip that suits the client: the thread's own connection, or the cluster's."""
    return ClusterRoundTrip(client) if isinstance(client, RedisCluster) else RoundTrip(client)


def run_script(round_trip: RoundTrip | ClusterRoundTrip, script, script_keys: list[str], args: list):
    """A registered script's reply (redis-py's Script: its sha and text), by EVALSHA in one round
    trip; loaded and sent once more only when Redis answers that it does not know the script (a
    restart or a SCRIPT FLUSH: nothing ran). An error reply raises."""
    command = _evalsha(script, script_keys, args)
    for _ in range(2):
        (result,) = round_trip.send(command)
        if not isinstance(result, NoScriptError):
            break
        script.registered_client.script_load(script.script)
    if isinstance(result, Exception):
        raise result
    return result


@dataclass(frozen=True)
class ScriptCall:
    """One registered script to run with its keys and arguments, and what makes its reply the
    caller's answer: for sending with another store's script in one round trip (run_scripts)."""
    script: Script
    keys: list[str]
    args: list
    answer: Callable[[object], object] = lambda reply: reply


@dataclass(frozen=True)
class Reads:
    """Commands that only read, and what makes their replies the caller's answer: for sending
    with another store's reads in one round trip (read_together)."""
    commands: tuple[tuple, ...]
    answer: Callable[[list], object]


def read_together(round_trip: RoundTrip | ClusterRoundTrip, *reads: Reads) -> list:
    """Each Reads' answer, in order, their commands sent in one round trip (one after another
    on a Redis Cluster). An error reply raises."""
    replies = raising(round_trip.send(*[command for read in reads for command in read.commands]))
    answers, first = [], 0
    for read in reads:
        answers.append(read.answer(replies[first:first + len(read.commands)]))
        first += len(read.commands)
    return answers


def run_scripts(round_trip: RoundTrip | ClusterRoundTrip, *calls: ScriptCall) -> list:
    """Each call's answer, in order, the scripts sent together in one round trip (one after
    another on a Redis Cluster, whose nodes hold their keys). A script Redis does not know (a
    restart, a SCRIPT FLUSH: it did not run) is loaded and sent once more, alone; an error reply
    raises once every reply has been read."""
    replies = round_trip.send(*[_evalsha(call.script, call.keys, call.args) for call in calls])
    for index, (call, reply) in enumerate(zip(calls, replies)):
        if isinstance(reply, NoScriptError):
            call.script.registered_client.script_load(call.script.script)
            replies[index] = run_script(round_trip, call.script, call.keys, call.args)
        elif isinstance(reply, Exception):
            raise reply
    return [call.answer(reply) for call, reply in zip(calls, replies)]


def raising(replies: list) -> list:
    """A round trip's replies, once none of them is an error reply (raised, the first)."""
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def _evalsha(script: Script, script_keys: list[str], args: list) -> tuple:
    return ("EVALSHA", script.sha, len(script_keys), *script_keys, *(str(a) for a in args))


def hash_reply(raw: dict | list) -> dict[str, str]:
    """An HGETALL reply as a dict of text: a flat [field, value, ...] list as one Redis answers
    it through a round trip (or a script returns it), or the dict of a cluster client."""
    pairs = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2])
    return {text(k): text(v) for k, v in pairs}


def text(value) -> str:
    """A reply's value as text (a client without decode_responses answers bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)
