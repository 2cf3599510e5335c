"""Redis access for what an account configures beside its services: Verify's programmable rate
limits (a service's RateLimits and their Buckets) and each account's SafeList.

Every change is one Lua script (`lua/ratelimit_*.lua`) or one Redis command, so a UniqueName is
never given twice, an Interval never stands twice in one rate limit, and deleting a rate limit
takes its buckets with it. A service's rate-limit keys share the `{VA...}` hash tag (keys.py).
Methods answer records or an outcome word; the operations (verify/rate_limits.py,
verify/safe_list.py) turn outcomes into Verify's errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster

from . import keys
from .scripts import load_scripts, pairs

MAX_RATE_LIMITS = 100  # per service: Verify's 60207 when reached
MAX_BUCKETS = 10  # per rate limit: Verify's 60210 when reached
SCRIPTS = ("create", "page", "update", "delete", "bucket", "bucket_delete", "buckets_for")  # lua/ratelimit_*


@dataclass(frozen=True)
class RateLimit:
    sid: str
    service_sid: str
    unique_name: str
    description: str | None
    date_created: float
    date_updated: float

    @classmethod
    def from_redis(cls, service_sid: str, raw: dict[str, str]) -> "RateLimit":
        return cls(raw["sid"], service_sid, raw["unique_name"], raw.get("description") or None,
                   float(raw["date_created"]), float(raw["date_updated"]))


@dataclass(frozen=True)
class Bucket:
    sid: str
    rate_limit_sid: str
    max: int  # at most this many requests...
    interval: int  # ...in any this many seconds
    date_created: float
    date_updated: float

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> "Bucket":
        return cls(raw["sid"], raw["rate_limit_sid"], int(raw["max"]), int(raw["interval"]),
                   float(raw["date_created"]), float(raw["date_updated"]))


@dataclass(frozen=True)
class SafeListEntry:
    sid: str
    phone_number: str
    date_created: float


class AdminStore:
    def __init__(self, client: redis.Redis | RedisCluster):
        self.redis = client
        self._scripts = load_scripts(client, SCRIPTS, prefix="ratelimit_")

    # -- rate limits --------------------------------------------------------------------------
    def create_rate_limit(self, service_sid: str, sid: str, unique_name: str, description: str | None,
                          now: float) -> tuple[str, RateLimit | None]:
        """("created", the rate limit), ("duplicate", None) when the service already has a rate
        limit of that UniqueName, or ("full", None) when it has MAX_RATE_LIMITS."""
        reply = self._scripts["create"](
            keys=[keys.rate_limit_names(service_sid), keys.rate_limits_index(service_sid),
                  keys.rate_limit(service_sid, sid)],
            args=[sid, unique_name, description or "", repr(now), MAX_RATE_LIMITS])
        if reply[0] != "created":
            return reply[0], None
        return "created", RateLimit(sid, service_sid, unique_name, description or None, now, now)

    def rate_limit(self, service_sid: str, sid: str) -> RateLimit | None:
        raw = self.redis.hgetall(keys.rate_limit(service_sid, sid))
        return RateLimit.from_redis(service_sid, raw) if raw else None

    def rate_limits(self, service_sid: str, offset: int, limit: int) -> list[RateLimit]:
        """Up to `limit` of the service's rate limits from `offset`, in creation order."""
        rows = self._scripts["page"](keys=[keys.rate_limits_index(service_sid)],
                                     args=[offset, limit, keys.rate_limit(service_sid, "")])
        return [RateLimit.from_redis(service_sid, pairs(row)) for row in rows if row]

    def update_rate_limit(self, service_sid: str, sid: str, description: str | None,
                          now: float) -> RateLimit | None:
        """Sets the Description (None clears it); None when there is no such rate limit."""
        raw = self._scripts["update"](keys=[keys.rate_limit(service_sid, sid)], args=[description or "", repr(now)])
        return RateLimit.from_redis(service_sid, pairs(raw)) if raw else None

    def delete_rate_limit(self, service_sid: str, sid: str) -> bool:
        """Deletes the rate limit and its buckets; False when there was no such rate limit."""
        return bool(self._scripts["delete"](
            keys=[keys.rate_limit(service_sid, sid), keys.rate_limit_names(service_sid),
                  keys.rate_limits_index(service_sid), keys.buckets_index(service_sid, sid)],
            args=[sid, keys.bucket(service_sid, "")]))

    def delete_rate_limits(self, service_sid: str) -> None:
        """Every rate limit of the service, with their buckets (a service delete takes them)."""
        while sids := self.redis.zrange(keys.rate_limits_index(service_sid), 0, 99):
            for sid in sids:
                if not self.delete_rate_limit(service_sid, sid):  # a stray index entry
                    self.redis.zrem(keys.rate_limits_index(service_sid), sid)
        self.redis.delete(keys.rate_limit_names(service_sid))

    # -- buckets ------------------------------------------------------------------------------
    def create_bucket(self, service_sid: str, rate_limit_sid: str, sid: str, max_: int, interval: int,
                      now: float) -> tuple[str, Bucket | None]:
        """("created", the bucket), or ("missing" | "full" | "duplicate_interval", None)."""
        return self._change_bucket("create", service_sid, rate_limit_sid, sid, max_, interval, now)

    def update_bucket(self, service_sid: str, rate_limit_sid: str, sid: str, max_: int | None,
                      interval: int | None, now: float) -> tuple[str, Bucket | None]:
        """("updated", the bucket), or ("missing" | "duplicate_interval", None). None leaves a
        value as it is."""
        return self._change_bucket("update", service_sid, rate_limit_sid, sid, max_, interval, now)

    def _change_bucket(self, mode: str, service_sid: str, rate_limit_sid: str, sid: str, max_: int | None,
                       interval: int | None, now: float) -> tuple[str, Bucket | None]:
        reply = self._scripts["bucket"](
            keys=[keys.rate_limit(service_sid, rate_limit_sid), keys.buckets_index(service_sid, rate_limit_sid),
                  keys.bucket(service_sid, sid)],
            args=[mode, rate_limit_sid, sid, repr(now), "" if max_ is None else max_,
                  "" if interval is None else interval, keys.bucket(service_sid, ""), MAX_BUCKETS])
        if reply[0] in ("created", "updated"):
            return reply[0], Bucket.from_redis(pairs(reply[1:]))
        return reply[0], None

    def bucket(self, service_sid: str, rate_limit_sid: str, sid: str) -> Bucket | None:
        """The bucket, or None when the rate limit has no such bucket."""
        raw = self.redis.hgetall(keys.bucket(service_sid, sid))
        return Bucket.from_redis(raw) if raw and raw.get("rate_limit_sid") == rate_limit_sid else None

    def buckets(self, service_sid: str, rate_limit_sid: str, offset: int, limit: int) -> list[Bucket] | None:
        """Up to `limit` of the rate limit's buckets from `offset`, in creation order; None when
        there is no such rate limit."""
        rows = self._scripts["page"](
            keys=[keys.buckets_index(service_sid, rate_limit_sid), keys.rate_limit(service_sid, rate_limit_sid)],
            args=[offset, limit, keys.bucket(service_sid, "")])
        return None if rows is None else [Bucket.from_redis(pairs(row)) for row in rows if row]

    def delete_bucket(self, service_sid: str, rate_limit_sid: str, sid: str) -> bool:
        return bool(self._scripts["bucket_delete"](
            keys=[keys.bucket(service_sid, sid), keys.buckets_index(service_sid, rate_limit_sid)],
            args=[rate_limit_sid, sid]))

    def buckets_for(self, service_sid: str, unique_name: str) -> list[Bucket] | None:
        """The buckets of the service's rate limit named `unique_name` (in creation order; an
        empty list when it has none), or None when the service has no rate limit of that name.
        One round trip. Does not check that the service itself exists."""
        reply = self._scripts["buckets_for"](
            keys=[keys.rate_limit_names(service_sid)],
            args=[unique_name, keys.buckets_index(service_sid, ""), keys.bucket(service_sid, "")])
        if reply is None:
            return None
        return [Bucket.from_redis(pairs(row)) for row in reply[1:] if row]

    # -- an account's SafeList ----------------------------------------------------------------
    def add_to_safe_list(self, account_sid: str, e164: str, sid: str, now: float) -> SafeListEntry | None:
        """The new entry, or None when the number is already listed (nothing is changed)."""
        if not self.redis.hsetnx(keys.safe_list(account_sid), e164, f"{sid}|{now!r}"):
            return None
        return SafeListEntry(sid, e164, now)

    def safe_list_entry(self, account_sid: str, e164: str) -> SafeListEntry | None:
        value = self.redis.hget(keys.safe_list(account_sid), e164)
        if value is None:
            return None
        sid, created = value.split("|", 1)
        return SafeListEntry(sid, e164, float(created))

    def safe_list_entries(self, account_sid: str, offset: int, limit: int) -> list[SafeListEntry]:
        """Up to `limit` of the account's SafeList from `offset`, by number."""
        numbers = sorted(self.redis.hkeys(keys.safe_list(account_sid)))[offset:offset + limit]
        values = self.redis.hmget(keys.safe_list(account_sid), numbers) if numbers else []
        return [SafeListEntry(value.split("|", 1)[0], number, float(value.split("|", 1)[1]))
                for number, value in zip(numbers, values) if value is not None]

    def remove_from_safe_list(self, account_sid: str, e164: str) -> bool:
        return bool(self.redis.hdel(keys.safe_list(account_sid), e164))

