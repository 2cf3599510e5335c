"""Rate-limit windows on Redis, through the `limits` library: one place for every limit.

One `Limiter` per app (`Core.limiter`), on the app's Redis. Every
limit is a moving window (`limits.strategies.MovingWindowRateLimiter`): a Redis list of hit
times per key, checked and appended in one Lua script, so concurrent hits from any number of
threads or processes never let more through than the limit allows.

    from limits import parse
    per_number = parse("5/10 minutes")
    refusal = limiter.hit(per_number, "{VA...:1a2b3c4d}", "sends")
    if refusal:
        ...  # answer 429 with Retry-After: refusal.retry_after

A key is `tv-limits:LIMITER/<identifiers joined by />/<amount>/<multiples>/<granularity>`
(`keys.LIMITS_NAMESPACE`, then the library's own layout). Braces in an identifier are kept
as they are, so an identifier such as `{VA...:tag}` is the key's Redis Cluster hash tag (the
first braces in the key count) and the counters of one number share the slot of its
verifications. A window keeps up to `amount` timestamps, so a limit of thousands per day
costs that many list entries per key.

Times are the Python process's clock (`time.time()`), passed into the scripts: processes
sharing a limit need synchronised clocks (NTP), and freezegun moves the windows in tests.
Redis errors propagate (the app answers 503): a limit that cannot be checked refuses.
"""
from __future__ import annotations

import math
import time

from limits import RateLimitItem
from limits.storage import RedisClusterStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from ..store import keys, sentinel
from ..store.connection import TIMEOUTS, cluster_node, connect

__all__ = ["Limiter", "Refusal"]


class Refusal(int):
    """A full limit: the seconds until a slot frees, rounded up (at least 1), the value for a
    Retry-After header. Truthy, and usable wherever that number is (`str(refusal)`, f-strings,
    JSON); it also carries the `limit` that refused and `reset_at` (epoch seconds). (The
    library counts a hit up to and including `reset_at`: only a frozen clock ever retries at
    exactly that instant, and is then told 1 second more.)"""

    limit: RateLimitItem
    reset_at: float

    def __new__(cls, limit: RateLimitItem, reset_at: float) -> "Refusal":
        refusal = super().__new__(cls, max(1, math.ceil(reset_at - time.time())))
        refusal.limit = limit
        refusal.reset_at = reset_at
        return refusal

    @property
    def retry_after(self) -> int:
        return int(self)

    def __str__(self) -> str:  # int's own text, not the repr below
        return int.__repr__(self)

    def __repr__(self) -> str:
        return f"Refusal(retry_after={int(self)}, limit={self.limit!r})"


class Limiter:
    def __init__(self, redis_url: str, *, sentinel_password: str | None = None,
                 key_prefix: str = keys.LIMITS_NAMESPACE):
        # The same Redis as the store's, with the same short timeouts: a hung Redis is a 503.
        node = cluster_node(redis_url)
        if sentinel.target(redis_url) is not None:
            # A pool made as the store's, which follows the primary after a failover. The
            # library's own RedisSentinelStorage would send the data nodes' password to the
            # Sentinels too, and keep its connections to a demoted primary until it is reconfigured.
            pool = connect(redis_url, sentinel_password).connection_pool
            self.storage = RedisStorage("redis://", connection_pool=pool, key_prefix=key_prefix)
        elif node is None:  # redis, rediss, unix: to redis.from_url, as the store's
            self.storage = RedisStorage(redis_url, key_prefix=key_prefix, health_check_interval=30, **TIMEOUTS)
        else:
            # The library reads only the node's address from its URL; the credentials, TLS and
            # timeouts go to its RedisCluster as they go to the store's.
            self.storage = RedisClusterStorage(f"redis+cluster://{_netloc(node.host, node.port)}",
                                               key_prefix=key_prefix, **node.options())
        self._strategy = MovingWindowRateLimiter(self.storage)

    def hit(self, limit: RateLimitItem, *identifiers: str, cost: int = 1) -> Refusal | None:
        """Take `cost` slots of the window, or refuse (and take none) when they do not fit."""
        if self._strategy.hit(limit, *identifiers, cost=cost):
            return None
        return self._refusal(limit, identifiers, cost)

    def test(self, limit: RateLimitItem, *identifiers: str, cost: int = 1) -> Refusal | None:
        """What `hit` would answer now, without taking anything."""
        if self._strategy.test(limit, *identifiers, cost=cost):
            return None
        return self._refusal(limit, identifiers, cost)

    def used(self, limit: RateLimitItem, *identifiers: str) -> int:
        """How many slots of the window are taken now (at most `limit.amount`)."""
        return limit.amount - self._strategy.get_window_stats(limit, *identifiers).remaining

    def clear(self, limit: RateLimitItem, *identifiers: str) -> None:
        """Forget every hit of this window (an operator's reset, a test)."""
        self._strategy.clear(limit, *identifiers)

    def key(self, limit: RateLimitItem, *identifiers: str) -> str:
        """The Redis key that holds this window."""
        return self.storage.prefixed_key(limit.key_for(*identifiers))

    def _refusal(self, limit: RateLimitItem, identifiers: tuple[str, ...], cost: int) -> Refusal:
        stats = self._strategy.get_window_stats(limit, *identifiers)
        if stats.remaining >= cost:
            # A slot freed between the two scripts: worth retrying at once.
            return Refusal(limit, time.time())
        # The oldest hit in the window leaves it at reset_time (for cost 1, the next slot).
        return Refusal(limit, stats.reset_time)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
