"""A Redis primary that Redis Sentinel names, from REDIS_URL.

`redis+sentinel://[user:password@]host:port,host:port,.../master-name[/db]` (TLS:
`rediss+sentinel://`) lists the Sentinels and the name they monitor the primary under; the
client asks them which node is the primary whenever it opens a connection. The URL's user and
password are the data nodes' (the primary's and its replicas'). The Sentinels are asked without
credentials, or with REDIS_SENTINEL_PASSWORD when they have a `requirepass` of their own.

After a failover the demoted primary goes on taking writes from the connections it holds until
the Sentinels reconfigure it, about ten seconds later, and those writes are lost when it turns
replica. So the pool asks the Sentinels where the primary is at most once a second
(`WatchedPool`), and a connection to any other node is closed before anything is sent on it.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import unquote

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool

SCHEMES = ("redis+sentinel", "rediss+sentinel")  # rediss: TLS, to the Sentinels and the data nodes
DEFAULT_PORT = 26379  # Sentinel's own
FORM = "redis+sentinel://[user:password@]host:port,host:port,.../master-name[/db]"
ASK_EVERY = 1.0  # seconds between two questions to the Sentinels, per pool
_ADDRESS = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]/]+))(?::(?P<port>\d{1,5}))?")


@dataclass(frozen=True)
class SentinelTarget:
    """The Sentinels a URL lists, the primary's name among them, and how to reach the data nodes."""
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int
    username: str | None
    password: str | None
    tls: bool

    def address(self) -> str:
        return f"{self.master} at Sentinels {','.join(f'{host}:{port}' for host, port in self.sentinels)}"

    def sentinel_options(self, timeouts: dict, retry, sentinel_password: str | None) -> dict:
        """The Sentinels' own connections: the same timeouts and TLS; their own password, if any."""
        return {**timeouts, "username": None, "password": sentinel_password, "ssl": self.tls, "retry": retry}

    def data_options(self, timeouts: dict, retry) -> dict:
        """The primary's connections, beside what redis-py's Sentinel adds (the address)."""
        credentials = {name: value for name, value in (("username", self.username), ("password", self.password))
                       if value is not None}
        return {**credentials, **timeouts, "db": self.db, "ssl": self.tls, "retry": retry}


def target(url: str) -> SentinelTarget | None:
    """The Sentinels of a Sentinel URL; None for any other URL. Raises ValueError saying what
    is wrong with a Sentinel URL."""
    scheme, separator, rest = url.partition("://")
    if scheme not in SCHEMES or not separator:
        return None
    form = FORM.replace("redis+sentinel", scheme)
    if "?" in rest or "#" in rest:
        raise ValueError(f"must be {form}, with no option after it: none is read from the URL")
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    sentinels = tuple(_sentinel(entry, form) for entry in hosts.split(","))
    names = path.split("/")
    if not names[0] or len(names) > 2:
        raise ValueError(f"must be {form}: the master name the Sentinels monitor (sentinel monitor <name> ...), "
                         "then optionally the database number")
    if len(names) == 2 and not names[1].isdigit():
        raise ValueError(f"must be {form}: the database after the master name is a number (0 by default)")
    username, has_password, password = userinfo.partition(":")
    return SentinelTarget(sentinels, unquote(names[0]), int(names[1]) if len(names) == 2 else 0,
                          unquote(username) or None, unquote(password) if has_password else None,
                          scheme == "rediss+sentinel")


def _sentinel(entry: str, form: str) -> tuple[str, int]:
    match = _ADDRESS.fullmatch(entry)
    port = int(match["port"]) if match and match["port"] else DEFAULT_PORT
    if not match or not 0 < port < 65536:
        raise ValueError(f"must be {form}: {entry!r} is not a Sentinel's host:port (its port is {DEFAULT_PORT} "
                         "when left out)")
    return match["ipv6"] or match["host"], port


class WatchedPool(SentinelConnectionPool):
    """redis-py's pool of the primary's connections, which asks the Sentinels where the primary is
    only when it opens a connection; this one also asks when a connection is taken, at most once
    every ASK_EVERY seconds. When the answer changes, redis-py closes the idle connections to the
    old primary and closes the others as they come back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._asked = 0.0

    def watch(self) -> None:
        now = time.monotonic()
        if now - self._asked < ASK_EVERY:
            return
        self._asked = now  # a race lets two threads ask at once: harmless
        try:
            self.get_master_address()
        except redis.ConnectionError:  # no Sentinel answers, or none knows a primary: the commands tell
            pass

    def reaches_primary(self, connection) -> bool:
        """Whether an open connection leads to the primary as last known (watched first)."""
        self.watch()
        return self.master_address in (None, (connection.host, connection.port))

    def get_connection(self, *args, **kwargs):
        self.watch()
        return super().get_connection(*args, **kwargs)


def connect(found: SentinelTarget, sentinel_password: str | None, timeouts: dict, retry) -> redis.Redis:
    """A client of the primary the Sentinels name: each connection asks them where it is when it
    opens, and one still open to a demoted primary is closed within ASK_EVERY seconds, or at its
    first READONLY answer."""
    sentinels = Sentinel(list(found.sentinels), sentinel_kwargs=found.sentinel_options(timeouts, retry,
                                                                                      sentinel_password))
    return sentinels.master_for(found.master, redis_class=redis.Redis, connection_pool_class=WatchedPool,
                                decode_responses=True, health_check_interval=30, **found.data_options(timeouts, retry))
