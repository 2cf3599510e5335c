"""The sessions of /my/ in Redis (keys: store/keys.py's legend). A session is written when the
person signs in, changed (a fresh second step) only while it exists, and deleted when they sign
out; its end is judged against the `ex` it stores, "now" from Python, and its TTL only cleans
up."""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from . import keys
from .round_trip import hash_reply
from .scripts import flat, load_scripts


class PortalStore:
    def __init__(self, client: redis.Redis | RedisCluster):
        self.redis = client
        self._scripts = load_scripts(client, ("session_update",), prefix="my_")

    def open_session(self, digest: str, identity: str, ends: float, ttl: int) -> None:
        key = keys.my_session(digest)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"id": identity, "ex": repr(ends)})
            pipe.expire(key, ttl)
            pipe.execute()

    def update_session(self, digest: str, fields: dict[str, str]) -> bool:
        """Set fields of a session that still exists (False: it has ended)."""
        args = flat(fields)
        return self._scripts["session_update"](keys=[keys.my_session(digest)], args=args) == 1

    def session(self, digest: str) -> dict[str, str] | None:
        raw = self.redis.hgetall(keys.my_session(digest))
        return hash_reply(raw) if raw else None

    def close_session(self, digest: str) -> None:
        self.redis.delete(keys.my_session(digest))

    # -- sign-ins through the organisation's provider --------------------------------------------
    def open_flow(self, digest: str, fields: dict[str, str], ttl: int) -> None:
        key = keys.my_signin_flow(digest)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, ttl)
            pipe.execute()

    def take_flow(self, digest: str) -> dict[str, str] | None:
        """The flow's fields, once: read and deleted in one transaction, so a `state` sent back
        twice finds nothing the second time."""
        key = keys.my_signin_flow(digest)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            raw, _ = pipe.execute()
        return hash_reply(raw) if raw else None
