"""What telverify stored before it had accounts, given to one account.

Services were listed in one index and the SafeList was one hash, both without an account. At
start, the account of API_CREDENTIALS' first entry adopts them: each service gets that owner,
unless it already has one, and moves to its owner's index; each SafeList number moves to that
account's SafeList, unless it is there already. Everything under a service (verifications,
rate limits, blocks) belongs to the service's owner with it. Every step can be repeated, so
workers starting together, or a start stopped halfway, leave nothing out or twice.
"""
from __future__ import annotations

import logging
import threading

import redis
from redis.cluster import RedisCluster

from . import keys
from .scripts import load_scripts

BATCH = 100
log = logging.getLogger("telverify.upgrade")


class Adoption:
    """adopt_unowned, run by each process until it has once succeeded: at start, and while
    Redis was unreachable then, before each application request."""

    def __init__(self, client: redis.Redis | RedisCluster, account_sid: str):
        self.client, self.account_sid = client, account_sid
        self.done = False
        self._lock = threading.Lock()

    def run(self) -> None:
        if self.done:
            return
        with self._lock:
            if not self.done:
                services, numbers = adopt_unowned(self.client, self.account_sid)
                if services or numbers:
                    log.warning("account %s adopted %d services and %d SafeList numbers stored without an "
                                "account", self.account_sid, services, numbers)
                self.done = True


def adopt_unowned(client: redis.Redis | RedisCluster, account_sid: str) -> tuple[int, int]:
    """(services adopted, SafeList numbers adopted) by `account_sid`."""
    adopt = load_scripts(client, ("adopt_service",))["adopt_service"]
    services = 0
    while batch := client.zrange(keys.UNOWNED_SERVICES, 0, BATCH - 1, withscores=True):
        for sid, created in batch:
            owner = adopt(keys=[keys.service(sid)], args=[account_sid])
            if owner:  # listed before it leaves the old index, so a stop here loses nothing
                client.zadd(keys.account_services(owner), {sid: created})
                services += 1
            client.zrem(keys.UNOWNED_SERVICES, sid)
    numbers = 0
    while batch := client.hscan(keys.UNOWNED_SAFE_LIST, 0, count=BATCH)[1]:
        for number, entry in batch.items():
            client.hsetnx(keys.safe_list(account_sid), number, entry)
            client.hdel(keys.UNOWNED_SAFE_LIST, number)
            numbers += 1
    return services, numbers
