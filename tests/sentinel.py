"""A Redis primary, one replica and three Sentinels for the tests, on free ports of 127.0.0.1.

The data nodes admit one user with a password (their default user is off) and the Sentinels a
password of their own, so a client that sends either set of credentials to the wrong side
fails. A Sentinel decides a node is down after 1 s without an answer (`down-after-milliseconds`),
and two of the three must agree before one of them fails over.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from urllib.parse import quote

import pytest
import redis

from tests.cluster import free_ports
from tests.support import Started, redis_server

MASTER = "telverify-primary"
DOWN_AFTER_MS = 1000


class LocalSentinels(Started):
    """`nodes[i]` is a data node's process, `ports[i]` its port; `url` is REDIS_URL for telverify,
    with `sentinel_password` as REDIS_SENTINEL_PASSWORD."""

    def __init__(self, username: str, password: str, sentinel_password: str):
        self.username, self.password, self.sentinel_password = username, password, sentinel_password
        self.folder = tempfile.mkdtemp(prefix="telverify-sentinel-")
        self.nodes: list[subprocess.Popen | None] = []
        self.sentinels: list[subprocess.Popen] = []
        self.ports, self.sentinel_ports = [], []

    @property
    def url(self) -> str:
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{credentials}@{hosts}/{MASTER}/0"

    def __exit__(self, *exc) -> None:
        for process in [*self.sentinels, *self.nodes]:
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _start(self) -> None:
        *self.ports, sentinel_a, sentinel_b, sentinel_c = free_ports(5)
        self.sentinel_ports = [sentinel_a, sentinel_b, sentinel_c]
        self.nodes = [self._data_node(0), self._data_node(1, replica_of=self.ports[0])]
        for index, port in enumerate(self.sentinel_ports):
            self.sentinels.append(self._sentinel(index, port))
        self.wait_until_settled()

    def _data_node(self, index: int, replica_of: int | None = None) -> subprocess.Popen:
        folder = os.path.join(self.folder, f"node-{index}")
        os.makedirs(folder, exist_ok=True)
        port = self.ports[index]
        options = ["--port", str(port), "--bind", "127.0.0.1", "--user", "default", "off", "--user",
                   self.username, "on", f">{self.password}", "~*", "&*", "+@all",
                   "--masteruser", self.username, "--masterauth", self.password]
        if replica_of is not None:
            options += ["--replicaof", "127.0.0.1", str(replica_of)]
        return redis_server(folder, options, f"redis://{quote(self.username)}:{quote(self.password, safe='')}"
                                             f"@127.0.0.1:{port}/0")

    def _sentinel(self, index: int, port: int) -> subprocess.Popen:
        folder = os.path.join(self.folder, f"sentinel-{index}")
        os.makedirs(folder)
        config = os.path.join(folder, "sentinel.conf")  # a Sentinel rewrites its file as it learns
        with open(config, "w") as file:
            file.write(f"port {port}\nbind 127.0.0.1\ndir {folder}\nrequirepass {self.sentinel_password}\n"
                       f"sentinel sentinel-pass {self.sentinel_password}\n"
                       f"sentinel monitor {MASTER} 127.0.0.1 {self.ports[0]} 2\n"
                       f"sentinel auth-user {MASTER} {self.username}\n"
                       f"sentinel auth-pass {MASTER} {self.password}\n"
                       f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                       f"sentinel failover-timeout {MASTER} 10000\n")
        return subprocess.Popen([shutil.which("redis-sentinel") or "redis-sentinel", config],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def sentinel(self, index: int = 0) -> redis.Redis:
        return redis.Redis(port=self.sentinel_ports[index], password=self.sentinel_password, decode_responses=True,
                           socket_timeout=5)

    def node(self, index: int) -> redis.Redis:
        return redis.Redis(port=self.ports[index], username=self.username, password=self.password,
                           decode_responses=True, socket_timeout=5)

    def primary(self) -> int:
        """Which data node the Sentinels agree is the primary (they must all agree)."""
        answers = {tuple(self.sentinel(index).sentinel_get_master_addr_by_name(MASTER))
                   for index in range(len(self.sentinels))}
        assert len(answers) == 1, f"the Sentinels disagree: {answers}"
        return self.ports.index(int(answers.pop()[1]))

    def _settled(self) -> bool:
        """Every Sentinel knows the others, agrees on the primary, and sees the replica linked to it."""
        try:
            primary = self.primary()
            for index in range(len(self.sentinels)):
                state = self.sentinel(index).sentinel_master(MASTER)
                replicas = self.sentinel(index).sentinel_slaves(MASTER)
                if state["num-other-sentinels"] != 2 or state["flags"] != "master" or [
                        (r["port"], r["flags"], r["master-link-status"]) for r in replicas] != [
                        (self.ports[1 - primary], "slave", "ok")]:
                    return False
            return self.node(primary).info("replication")["role"] == "master"
        except (redis.RedisError, AssertionError):
            return False

    def wait_until_settled(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self._settled():
            if time.monotonic() > deadline:
                pytest.fail(f"the Sentinels did not settle in {timeout} s: "
                            f"{[self.sentinel(i).sentinel_master(MASTER) for i in range(len(self.sentinels))]}")
            time.sleep(0.1)

    def fail_over(self) -> int:
        """The Sentinels' manual failover: the replica is promoted, the primary demoted. Which node
        the primary was."""
        primary = self.primary()
        self.sentinel(0).execute_command("SENTINEL", "FAILOVER", MASTER)
        return primary

    def kill_primary(self) -> int:
        """SIGKILL the primary, as a crash of its machine would: which node it was."""
        primary = self.primary()
        self.nodes[primary].send_signal(signal.SIGKILL)
        self.nodes[primary].wait(10)
        return primary

    def restart(self, index: int) -> None:
        """Start a killed node again as the new primary's replica, as its operator would."""
        self.nodes[index] = self._data_node(index, replica_of=self.ports[1 - index])

    def wait_for_new_primary(self, old: int, timeout: float = 30) -> float:
        """Seconds until every Sentinel names a primary other than `old`."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if self.primary() != old:
                    return time.monotonic() - start
            except (redis.RedisError, AssertionError, ValueError):
                pass
            time.sleep(0.05)
        pytest.fail(f"no Sentinel failover in {timeout} s")
