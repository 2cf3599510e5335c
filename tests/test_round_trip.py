"""The hot paths' round trip (verify/store/round_trip.py): a command that went out is never
sent again, whatever becomes of its connection, and a connection that Redis closed while it
lay unused is replaced before anything is sent on it."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest
import redis

from app import create_app
from tests.support import API_KEY, API_SECRET, MOBILE, free_port, make_env, stored_checks
from verify.store.round_trip import IDLE_SECONDS, Reads, RoundTrip, ScriptCall, hash_reply, read_together, run_scripts

AUTH = (API_KEY, API_SECRET)


class CuttingProxy:
    """A TCP proxy in front of Redis that, when told, lets Redis run what it is sent but closes
    the client's connection instead of passing Redis's answer on: a reply lost on the way."""

    def __init__(self, redis_port: int):
        self.port, self.redis_port = free_port(), redis_port
        self.cut_next_reply = threading.Event()
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.redis_port))
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if replies and self.cut_next_reply.is_set():
                    self.cut_next_reply.clear()
                    self.cuts += 1
                    break
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def proxied(redis_url, standin):
    """An app whose Redis is reached through a CuttingProxy, with a pending verification."""
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = CuttingProxy(port)
    app = create_app(make_env(f"redis://127.0.0.1:{proxy.port}/0", standin.base_url, "http://localhost"))
    client = app.test_client()
    service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH).get_json()["sid"]
    sid = client.post(f"/v2/Services/{service}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                      auth=AUTH).get_json()["sid"]
    yield proxy, client, service, sid
    proxy.close()


def checks_counted(redis_url: str, service: str, sid: str) -> int:
    return stored_checks(redis.Redis.from_url(redis_url, decode_responses=True), service, sid)


def wrong_code(client, service: str):
    return client.post(f"/v2/Services/{service}/VerificationCheck", data={"To": MOBILE, "Code": "000000"},
                       auth=AUTH)


def test_a_check_whose_answer_is_lost_is_503_and_counted_once(proxied, redis_url):
    proxy, client, service, sid = proxied
    assert wrong_code(client, service).status_code == 200  # this thread's connection is open
    proxy.cut_next_reply.set()
    lost = wrong_code(client, service)
    assert proxy.cuts == 1
    assert lost.status_code == 503 and lost.get_json()["code"] == 20503
    assert checks_counted(redis_url, service, sid) == 2  # Redis ran it once; it was not sent again
    assert wrong_code(client, service).status_code == 200  # a new connection, and on it goes
    assert checks_counted(redis_url, service, sid) == 3


def test_a_connection_redis_closed_while_unused_is_replaced_first(proxied, redis_url):
    _, client, service, sid = proxied
    assert wrong_code(client, service).status_code == 200
    redis.Redis.from_url(redis_url).client_kill_filter(_type="normal", skipme=True)  # as a restart would
    time.sleep(IDLE_SECONDS + 0.2)
    assert wrong_code(client, service).status_code == 200
    assert checks_counted(redis_url, service, sid) == 2
    # The same for a request on redis-py's own client (a create, here a re-send).
    redis.Redis.from_url(redis_url).client_kill_filter(_type="normal", skipme=True)
    resent = client.post(f"/v2/Services/{service}/Verifications", data={"To": MOBILE, "Channel": "sms"}, auth=AUTH)
    assert resent.status_code == 201 and resent.get_json()["sid"] == sid


def test_a_forked_child_makes_its_own_connection(redis_url):
    """A connection made before a fork is the parent's: the child's first round trip makes its
    own, and the parent's goes on working."""
    round_trip = RoundTrip(redis.Redis.from_url(redis_url))
    assert round_trip.send(("CLIENT", "ID"))[0] > 0
    parents = round_trip.send(("CLIENT", "ID"))[0]
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its connection's id, and leave without pytest's cleanup
        try:
            os.write(writing, str(round_trip.send(("CLIENT", "ID"))[0]).encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as answer:
        childs = int(answer.read() or 0)
    os.waitpid(child, 0)
    assert childs > 0 and childs != parents
    assert round_trip.send(("CLIENT", "ID"))[0] == parents


def test_scripts_sent_together_run_once_each_after_a_script_flush(redis_url):
    """run_scripts: the scripts Redis no longer knows (a restart, a SCRIPT FLUSH) are loaded and
    run once more, each exactly once; one known still runs once; an error reply raises, and the
    connection is left clean for the next round trip."""
    client = redis.Redis.from_url(redis_url)
    counter = client.register_script("return redis.call('INCR', KEYS[1])")
    known = client.register_script("return redis.call('INCRBY', KEYS[1], 10)")
    round_trip = RoundTrip(client)
    client.script_flush()
    client.script_load(known.script)
    assert run_scripts(round_trip, ScriptCall(counter, ["runs:a"], []), ScriptCall(known, ["runs:b"], []),
                       ScriptCall(counter, ["runs:c"], [], lambda reply: reply * 100)) == [1, 10, 100]
    assert [int(client.get(key)) for key in ("runs:a", "runs:b", "runs:c")] == [1, 10, 1]
    failing = client.register_script("return redis.error_reply('ERR refused')")
    with pytest.raises(redis.ResponseError, match="refused"):
        run_scripts(round_trip, ScriptCall(failing, [], []), ScriptCall(counter, ["runs:a"], []))
    assert int(client.get("runs:a")) == 2  # the script after the error ran, its reply read
    assert round_trip.send(("PING",)) == [b"PONG"]


def test_reads_of_two_stores_sent_together_each_answered_from_its_own_replies(redis_url):
    """read_together: the commands of several Reads sent at once, each Reads given its own
    replies in order; an error reply raises, and the connection is left clean."""
    client = redis.Redis.from_url(redis_url)
    client.hset("reads:hash", mapping={"a": "1"})
    client.set("reads:text", "seen")
    round_trip = RoundTrip(client)
    first = Reads((("HGETALL", "reads:hash"), ("EXISTS", "reads:none")),
                  lambda replies: (hash_reply(replies[0]), replies[1]))
    second = Reads((("GET", "reads:text"),), lambda replies: replies[0].decode().upper())
    assert read_together(round_trip, first, second) == [({"a": "1"}, 0), "SEEN"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        read_together(round_trip, Reads((("HGETALL", "reads:text"),), lambda replies: replies), second)
    assert round_trip.send(("PING",)) == [b"PONG"]
