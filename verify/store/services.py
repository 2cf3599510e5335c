"""Services in Redis, and each service's block list: numbers not called or texted for it."""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from ..model import service_from_redis, service_to_redis
from ..sids import NumberTags
from . import keys
from .scripts import flat, load_scripts

FRAUD_BLOCK_SECONDS = 90 * 24 * 3600  # a number reported as fraud is left alone this long


class ServiceStore:
    def __init__(self, client: redis.Redis | RedisCluster, tags: NumberTags):
        self.redis = client
        self.tags = tags  # a number's tag: the Redis slot of its block
        self.cluster = isinstance(client, RedisCluster)
        self._scripts = load_scripts(client, ("update_service",))

    # A service's hash and its account's index are in different slots of a cluster, so they
    # change in an order that never lists a service whose hash is missing: created hash first,
    # deleted index first. Stopped halfway, a create leaves a hash whose sid nobody was given,
    # and a delete one that the DELETE, repeated, removes.
    def create_service(self, sid: str, account_sid: str, settings: dict, now: float) -> None:
        fields = service_to_redis({**settings, "sid": sid, "account_sid": account_sid,
                                   "date_created": now, "date_updated": now})
        self._in_order(lambda r: r.hset(keys.service(sid), mapping=fields),
                       lambda r: r.zadd(keys.account_services(account_sid), {sid: now}))

    def get_service(self, sid: str) -> dict | None:
        raw = self.redis.hgetall(keys.service(sid))
        return service_from_redis(raw) if raw else None

    def owner(self, sid: str) -> tuple[bool, str | None]:
        """(whether the service exists, the sid of the account that owns it: None for a service
        stored before accounts and not yet adopted)."""
        account, name = self.redis.hmget(keys.service(sid), "account_sid", "friendly_name")
        return name is not None, account  # every service has a friendly_name

    def list_services(self, account_sid: str, offset: int, limit: int) -> list[dict]:
        sids = self.redis.zrange(keys.account_services(account_sid), offset, offset + limit - 1)
        with self.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hgetall(keys.service(sid))
            # A delete between the two reads leaves an entry whose hash is gone: not listed.
            return [service_from_redis(raw) for raw in pipe.execute() if raw]

    def update_service(self, sid: str, settings: dict, now: float) -> bool:
        fields = service_to_redis({**settings, "date_updated": now})
        args = flat(fields)
        return bool(self._scripts["update_service"](keys=[keys.service(sid)], args=args))

    def delete_service(self, sid: str, account_sid: str) -> bool:
        _, deleted = self._in_order(lambda r: r.zrem(keys.account_services(account_sid), sid),
                                    lambda r: r.delete(keys.service(sid)))
        return bool(deleted)

    def _in_order(self, *commands) -> list:
        """Each command's reply; a command is a function of a client. On one Redis they run in
        one MULTI; on a cluster, where no transaction spans slots, each is done before the next
        is sent."""
        if self.cluster:
            return [command(self.redis) for command in commands]
        with self.redis.pipeline(transaction=True) as pipe:
            for command in commands:
                command(pipe)
            return pipe.execute()

    # -- the block list -----------------------------------------------------------------------
    def blocked_until(self, service_sid: str, to: str, now: float) -> float | None:
        """When the number's block lifts (None: not blocked). The key holds that time, so each
        read answers the same instant; a whole-second TTL would not."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.blocked(service_sid, self.tags(to), to))
            pipe.pttl(keys.blocked(service_sid, self.tags(to), to))
            until, pttl = pipe.execute()
        if pttl is None or pttl < 0:
            return None
        try:
            lifts = float(until)
        except (TypeError, ValueError):
            lifts = 0.0
        # A value not in the future is not a lift time (a block kept from an older release
        # holds when it began): its TTL answers.
        return lifts if lifts > now else now + pttl / 1000

    def block(self, service_sid: str, to: str, now: float, seconds: int) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.blocked(service_sid, self.tags(to), to), repr(now + seconds), ex=seconds)
            pipe.zadd(keys.blocked_index(service_sid), {to: now + seconds})
            pipe.execute()

    def unblock(self, service_sid: str, to: str) -> bool:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(keys.blocked(service_sid, self.tags(to), to))
            pipe.zrem(keys.blocked_index(service_sid), to)
            deleted, _ = pipe.execute()
        return bool(deleted)

    def unblock_all(self, service_sid: str) -> None:
        """Lift every block of the service (its service is being deleted). The blocks live in
        their numbers' slots, so each is its own command; the index goes last."""
        index = keys.blocked_index(service_sid)
        for start in range(0, self.redis.zcard(index), 500):
            with self.redis.pipeline(transaction=False) as pipe:
                for to in self.redis.zrange(index, start, start + 499):
                    pipe.delete(keys.blocked(service_sid, self.tags(to), to))
                pipe.execute()
        self.redis.delete(index)

    def blocked_numbers(self, service_sid: str, now: float, offset: int, limit: int) -> list[tuple[str, float]]:
        """The service's blocked numbers with when each block lifts, soonest first."""
        index = keys.blocked_index(service_sid)
        self.redis.zremrangebyscore(index, "-inf", now)
        return [(to, until) for to, until in
                self.redis.zrange(index, offset, offset + limit - 1, withscores=True)]
