"""Whether Redis keeps what telverify stores across a restart: asked once, when the app starts.

Verifications end within a day, but services, SafeLists, blocks and people's sign-in methods are
kept for good, and only Redis holds them. The append-only file (AOF) written to disk every second
(`appendfsync everysec`) or on every write (`always`) loses a second of changes at most when Redis
or its machine stops; RDB snapshots alone lose every change since the last snapshot, and with
neither a restart loses everything. Every primary is asked (`CONFIG GET`): each holds its own share.
Behind Redis Sentinel, the primary it names at start is asked.

A managed Redis may refuse CONFIG (renamed away, or not granted to the user): persistence is then
unknown, and the operator confirms it with the provider (REDIS_PERSISTENCE_CONFIRMED).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster
from redis.sentinel import SentinelConnectionPool

from .connection import STORE_ERRORS
from .round_trip import text

log = logging.getLogger("telverify.persistence")

DURABLE_FSYNC = ("everysec", "always")
WHAT_TO_SET = ("set `appendonly yes` and `appendfsync everysec` in the Redis configuration (README.md, "
               "Operations, \"Redis persistence\")")
CONFIRM = ("confirm with its provider that it keeps an append-only file written every second (appendonly yes, "
           "appendfsync everysec), then set REDIS_PERSISTENCE_CONFIRMED=1")


class Shortfall(Exception):
    """REQUIRE_REDIS_PERSISTENCE is on, and Redis's persistence is short of it or unknown."""


@dataclass(frozen=True)
class Finding:
    node: str  # host:port, or the socket's path
    durable: bool | None  # None: not known (CONFIG refused, or answered without appendonly)
    says: str  # what it means, for the log


def _name(client: redis.Redis) -> str:
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):  # the node the Sentinels name now
        host, port = pool.get_master_address()
        return f"{host}:{port} (the Sentinels' primary {pool.service_name})"
    options = pool.connection_kwargs
    return options.get("path") or f"{options.get('host')}:{options.get('port')}"


def judge(node: str, config: dict) -> Finding:
    """What a node's `CONFIG GET` answer of appendonly, appendfsync and save means."""
    config = {text(name): text(value) for name, value in config.items()}
    if "appendonly" not in config:
        return Finding(node, None, f"Redis at {node} did not say how it persists (CONFIG GET answered "
                                   f"{sorted(config)})")
    fsync, save = config.get("appendfsync", ""), config.get("save", "").strip()
    if config["appendonly"] == "yes" and fsync in DURABLE_FSYNC:
        return Finding(node, True, f"Redis at {node} keeps an append-only file (appendfsync {fsync})")
    if config["appendonly"] == "yes":
        return Finding(node, False, f"Redis at {node} keeps an append-only file with appendfsync {fsync or '?'}: "
                                    "the operating system decides when it reaches the disk, and a crash of the "
                                    "machine loses what it had not written")
    if save:
        return Finding(node, False, f"Redis at {node} keeps RDB snapshots only (save \"{save}\", appendonly no): "
                                    "a restart loses every change since the last snapshot")
    return Finding(node, False, f"Redis at {node} keeps nothing on disk (appendonly no, no save): a restart "
                                "loses everything telverify stores, every service and sign-in method with it")


def _ask(client: redis.Redis) -> Finding:
    node = _name(client)
    try:
        pipe = client.pipeline(transaction=False)
        for name in ("appendonly", "appendfsync", "save"):
            pipe.config_get(name)
        config: dict = {}
        for answer in pipe.execute():
            config.update(answer)
    except redis.ResponseError as exc:  # CONFIG renamed away or not granted (NOPERM)
        return Finding(node, None, f"Redis at {node} refused CONFIG GET ({str(exc).splitlines()[0][:120]})")
    return judge(node, config)


def inspect(client: redis.Redis | RedisCluster) -> list[Finding]:
    """Each primary's persistence. Raises the store's errors when Redis cannot be reached."""
    if isinstance(client, RedisCluster):
        return [_ask(client.get_redis_connection(node)) for node in client.get_primaries()]
    return [_ask(client)]


def check_at_start(client: redis.Redis | RedisCluster, required: bool, confirmed: bool) -> None:
    """Log what Redis's persistence means for long-lived data. With `required`, raise Shortfall
    when a primary's falls short, or when it cannot be known and `confirmed` is off."""
    try:
        findings = inspect(client)
    except STORE_ERRORS as exc:
        says = f"Redis was unreachable at start ({type(exc).__name__}), so its persistence was not checked"
        if required and not confirmed:
            raise Shortfall(f"REQUIRE_REDIS_PERSISTENCE=1, but {says}: start telverify once Redis answers") from exc
        log.warning("%s (it is checked at start only)", says)
        return
    short = [finding.says for finding in findings if finding.durable is False]
    unknown = [finding.says for finding in findings if finding.durable is None]
    for says in short:
        log.warning("%s; telverify keeps long-lived data there: %s", says, WHAT_TO_SET)
    for says in unknown:
        if confirmed:
            log.info("%s; REDIS_PERSISTENCE_CONFIRMED=1 says it keeps an append-only file", says)
        else:
            log.warning("%s, so its persistence could not be checked: %s", says, CONFIRM)
    if not short and not unknown:
        log.info("Redis persistence: %s", "; ".join(finding.says for finding in findings))
    if required and short:
        raise Shortfall(f"REQUIRE_REDIS_PERSISTENCE=1, but {'; '.join(short)}: {WHAT_TO_SET}")
    if required and unknown and not confirmed:
        raise Shortfall(f"REQUIRE_REDIS_PERSISTENCE=1, but {'; '.join(unknown)}, so its persistence could not be "
                        f"checked: {CONFIRM}")
