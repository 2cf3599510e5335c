"""The Redis client of a process, from REDIS_URL."""
from __future__ import annotations

import redis

# Short timeouts: a Redis that hangs turns into a clear 503, not a Twilio webhook timeout.
TIMEOUTS = {"socket_timeout": 2, "socket_connect_timeout": 2}


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30, retry_on_timeout=False,
                                **TIMEOUTS)
