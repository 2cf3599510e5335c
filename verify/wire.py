"""One Redis round trip on a connection the calling thread keeps: the hot paths' way to Redis.

Beyond the socket work, redis-py's pool and Pipeline cost about 12 us of CPU a call (a pid
check, a poll of the socket for stray bytes, the pool's lock, building and resetting the
Pipeline): measured, a third of what a round trip costs the app. VerificationCheck and the
call webhooks, whose speed the benchmark holds to targets, send their commands on a connection
of their thread's own instead, made with the client's settings. Everything else uses the client.
"""
from __future__ import annotations

import functools
import os
import threading

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


class Wire:
    def __init__(self, client: redis.Redis):
        pool = client.connection_pool
        self._new_connection = functools.partial(pool.connection_class, **pool.connection_kwargs)
        self._local = threading.local()

    def _connection(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a forked child must not share its parent's socket
            local.connection, local.pid = self._new_connection(), os.getpid()
        return local.connection

    def round_trip(self, *commands: tuple) -> list:
        """Each command's reply, in order. An error reply comes back as its exception (the
        caller can tell a NOSCRIPT from the rest); a lost connection or a timeout raises."""
        connection = self._connection()
        packed = connection.pack_commands(commands)
        for retry in (True, False):
            try:
                connection.send_packed_command(packed)
                return [_reply(connection) for _ in commands]
            except RedisConnectionError:
                # Mostly Redis restarted or dropped an idle connection, and the commands died
                # with the socket: send them once more on a new one, as the pool reconnects.
                connection.disconnect()
                if not retry:
                    raise
            except BaseException:
                connection.disconnect()  # never leave half a reply for the next call to read
                raise
        raise AssertionError("unreachable")


def _reply(connection):
    try:
        return connection.read_response()
    except ResponseError as error:
        return error
