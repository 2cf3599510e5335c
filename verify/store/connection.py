"""The Redis client of a process, from REDIS_URL: one Redis, a Redis Cluster, or the primary
that Redis Sentinel names (`sentinel.py`).

A cluster is named by any one of its nodes, `redis+cluster://[user:password@]host:port` (TLS:
`rediss+cluster://`); the client asks that node for the others and for which holds each slot.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from . import sentinel

# Short timeouts: a Redis that hangs turns into a clear 503, not a Twilio webhook timeout.
TIMEOUTS = {"socket_timeout": 2, "socket_connect_timeout": 2}

# A command is never sent twice: once it went out, Redis may run it whatever becomes of the
# connection, and a check must count once (redis-py's default retries a timed-out command up to
# 10 times with a growing pause). The pool replaces a connection that Redis closed meanwhile
# before it sends anything on it (it finds it readable), so a restart costs no request.
SINGLE_RETRY = Retry(NoBackoff(), 0)

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")  # rediss: TLS
SCHEMES = ("redis", "rediss", "unix", *CLUSTER_SCHEMES, *sentinel.SCHEMES)

# What a failing store raises. A cluster client also raises RedisClusterException, which is not
# a RedisError, when no node it knows holds a key's slot (a shard down without a replica).
STORE_ERRORS = (redis.RedisError, RedisClusterException)


@dataclass(frozen=True)
class ClusterNode:
    """The node a cluster URL names, and how to reach every node of that cluster."""
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    def options(self) -> dict:
        """RedisCluster's arguments beside the node: the same timeouts as a single Redis, and no
        command sent twice. redis-py's default retries a timed-out command up to 10 times (a
        script may then run twice, and a hung node holds a request for tens of seconds); with
        none, a failed command still makes the client re-read the cluster's slots, so the next
        request reaches a replica promoted meanwhile."""
        credentials = {name: value for name, value in (("username", self.username), ("password", self.password))
                       if value is not None}
        return {**credentials, **TIMEOUTS, "ssl": self.tls, "retry": Retry(NoBackoff(), 0)}


def cluster_node(url: str) -> ClusterNode | None:
    """The node of a cluster URL; None for a single Redis's URL. Raises ValueError saying what
    is wrong with a cluster URL."""
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        return None
    form = f"{parts.scheme}://[user:password@]host:port"
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = None
    if not parts.hostname or port is None:
        raise ValueError(f"must be {form}: one node's host and port (the client finds the other nodes)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must be {form}, with nothing after the port: a cluster has only database 0, "
                         "and no option is read from the URL")
    return ClusterNode(parts.hostname, port, unquote(parts.username) if parts.username else None,
                       unquote(parts.password) if parts.password is not None else None,
                       parts.scheme == "rediss+cluster")


def connect(url: str, sentinel_password: str | None = None) -> redis.Redis | RedisCluster:
    """A client for REDIS_URL. A cluster client reads the cluster's slots from the node at once,
    so it raises when no node answers; a single Redis, or Sentinel's primary, is first reached by
    the first command."""
    sentinels = sentinel.target(url)
    if sentinels is not None:
        return sentinel.connect(sentinels, sentinel_password, TIMEOUTS, SINGLE_RETRY)
    node = cluster_node(url)
    if node is None:
        return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30, retry=SINGLE_RETRY,
                                    **TIMEOUTS)
    return RedisCluster(host=node.host, port=node.port, decode_responses=True, **node.options())
