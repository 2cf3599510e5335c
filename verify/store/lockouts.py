"""A number's lockout in Redis, as the help desk reads and clears it: its hash {until, level}
(keys.lockout) and its recent failed checks (keys.failed_checks), which check.lua keeps."""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from ..sids import NumberTags
from . import keys


class LockoutStore:
    def __init__(self, client: redis.Redis | RedisCluster, tags: NumberTags):
        self.redis = client
        self.tags = tags  # a number's tag: the Redis slot of its keys

    def state(self, service_sid: str, to: str, failures_since: float) -> tuple[float | None, int]:
        """(when the number's lockout ends or ended, None when it has none; its failed checks
        since `failures_since`), in one round trip."""
        tag = self.tags(to)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.lockout(service_sid, tag), "until")
            pipe.zcount(keys.failed_checks(service_sid, tag), f"({failures_since!r}", "+inf")
            until, failures = pipe.execute()
        return (float(until) if until else None), int(failures)

    def clear(self, service_sid: str, to: str) -> bool:
        """End the number's lockout and forget its failed checks and its lockouts so far (the
        next one is again the shortest): one command, both keys in the number's slot. Whether
        there was anything to clear."""
        tag = self.tags(to)
        return bool(self.redis.delete(keys.lockout(service_sid, tag), keys.failed_checks(service_sid, tag)))
