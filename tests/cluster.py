"""A Redis Cluster of three masters for the tests, formed as redis-cli would but without it:
each redis-server is started with cluster mode on, given a third of the 16384 slots
(CLUSTER ADDSLOTSRANGE) and introduced to the others (CLUSTER MEET); the cluster serves once
every node says cluster_state:ok."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack
from urllib.parse import quote

import pytest
import redis
from redis.cluster import RedisCluster

from tests.support import Started, redis_server

SLOTS = 16384
MASTERS = 3


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each socket is held until all are chosen."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


class LocalCluster(Started):
    """Three masters on free ports of 127.0.0.1, without replicas, each with its own folder and
    cluster config file. Only `username` may connect, with `password` (the default user is
    off), so a client that drops the URL's credentials fails. `url` is REDIS_URL for
    telverify; `nodes` are clients of each node."""

    def __init__(self, username: str, password: str):
        self.username, self.password = username, password
        self.folder = tempfile.mkdtemp(prefix="telverify-cluster-")
        self.processes: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self.nodes: list[redis.Redis] = []
        self.slots: list[range] = []  # the slots of each node

    @property
    def url(self) -> str:
        return f"redis+cluster://{self._credentials}@127.0.0.1:{self.ports[0]}"

    @property
    def _credentials(self) -> str:
        return f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGCONT)  # a node a test stopped takes SIGTERM only running
            process.terminate()
        for process in self.processes:
            process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _start(self) -> None:
        ports = free_ports(2 * MASTERS)  # each node's clients' port and its cluster bus port
        self.ports, buses = ports[:MASTERS], ports[MASTERS:]
        for index, (port, bus) in enumerate(zip(self.ports, buses)):
            folder = os.path.join(self.folder, f"node-{index}")
            os.mkdir(folder)
            # A node pings one it has not heard from within half the node timeout: at 5 s instead
            # of the default 15, the nodes learn of each other in about 3 s instead of 8.
            options = ["--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-port",
                       str(bus), "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                       "--user", "default", "off", "--user", self.username, "on", f">{self.password}", "~*", "&*",
                       "+@all"]
            self.processes.append(redis_server(folder, options, f"redis://{self._credentials}@127.0.0.1:{port}/0"))
            self.nodes.append(redis.Redis(host="127.0.0.1", port=port, username=self.username,
                                          password=self.password, decode_responses=True, socket_timeout=5))
        for index, node in enumerate(self.nodes):
            # Distinct config epochs, as redis-cli gives them: no collision for the nodes to settle.
            node.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
            self.slots.append(range(index * SLOTS // MASTERS, (index + 1) * SLOTS // MASTERS))
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", self.slots[-1].start, self.slots[-1].stop - 1)
        for port, bus in zip(self.ports[1:], buses[1:]):
            self.nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus)
        deadline = time.monotonic() + 20
        while not all(self._serves(node) for node in self.nodes):
            if time.monotonic() > deadline:
                pytest.fail(f"the test cluster did not form: {[self._info(node) for node in self.nodes]}")
            time.sleep(0.05)

    @staticmethod
    def _info(node: redis.Redis) -> dict[str, str]:
        text = node.execute_command("CLUSTER", "INFO")
        return dict(line.split(":", 1) for line in text.split() if ":" in line)

    def _serves(self, node: redis.Redis) -> bool:
        info = self._info(node)
        return (info["cluster_state"], info["cluster_known_nodes"], info["cluster_slots_ok"]) == \
            ("ok", str(MASTERS), str(SLOTS))

    def client(self) -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=self.ports[0], username=self.username, password=self.password,
                            decode_responses=True)

    def node_of(self, key: str) -> int:
        """Which of `nodes` holds `key`'s slot."""
        slot = self.nodes[0].execute_command("CLUSTER", "KEYSLOT", key)
        return next(index for index, slots in enumerate(self.slots) if slot in slots)

    def keys(self, pattern: str = "*") -> list[list[str]]:
        """The keys matching `pattern` on each node."""
        return [sorted(node.scan_iter(pattern, count=1000)) for node in self.nodes]

    def flush(self) -> None:
        for node in self.nodes:
            node.flushall()
