"""Slow clients under gunicorn as the Procfile runs it (one worker of 4 threads here): headers
sent a byte at a time, bodies that never end, connections that send nothing. None of them holds
a thread or the worker's loop: checks keep answering, new connections are accepted, and the
worker is never killed. Bounds are generous (a second), as behaviour, not speed."""
from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest
import requests

from config.workers import REQUEST_SECONDS
from tests.support import API_KEY, API_SECRET, MOBILE, Gunicorn, make_env, verify_client

SLOW = 70  # slow connections at once: many more than the worker's threads


@pytest.fixture
def server(tmp_path, redis_url, standin):
    with Gunicorn(tmp_path, lambda url: make_env(redis_url, standin.base_url, url)) as running:
        yield running
        assert "WORKER TIMEOUT" not in running.log() and "was sent SIGKILL" not in running.log(), running.log()


@pytest.fixture
def checking(server):
    """Checks of a wrong code, made one after another while a test runs: their latencies."""
    sdk = verify_client(server.url)
    service = sdk.verify.v2.services.create(friendly_name="Acme")
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    url = f"{server.url}/v2/Services/{service.sid}/VerificationCheck"
    latencies: list[float] = []
    statuses: set[int] = set()
    stop = threading.Event()

    def run():
        with requests.Session() as session:  # one kept-alive connection, as an application keeps
            while not stop.is_set():
                started = time.monotonic()
                answer = session.post(url, data={"VerificationSid": verification.sid, "Code": "000000"},
                                      auth=(API_KEY, API_SECRET), timeout=10)
                latencies.append(time.monotonic() - started)
                statuses.add(answer.status_code)
                time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield latencies
    stop.set()
    thread.join(15)
    assert statuses <= {200, 429}, statuses  # pending while wrong; then max attempts, still answered


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _pid_in(server) -> int:
    """The worker's pid, from gunicorn's log ("Booting worker with pid: N")."""
    line = [line for line in server.log().splitlines() if "Booting worker with pid" in line][-1]
    return int(line.rsplit(":", 1)[1])


def test_headers_sent_a_byte_at_a_time_hold_no_thread(server, checking):
    head = b"GET /healthz/live HTTP/1.1\r\nHost: telverify\r\nX-Slow: " + b"y" * 100
    with ExitStack() as stack:
        slow = [stack.enter_context(connect(server.url)) for _ in range(SLOW)]
        for index in range(8):  # 4 s: a byte every half second on each
            for sock in slow:
                sock.sendall(head[index:index + 1])
            time.sleep(0.5)
        # New connections are accepted and answered while the slow ones stay open.
        started = time.monotonic()
        for _ in range(50):
            assert requests.get(f"{server.url}/healthz/live", timeout=5).status_code == 200
        accepting = time.monotonic() - started
    assert len(checking) > 20 and max(checking) < 1.0, max(checking)
    assert accepting < 5.0, accepting


def test_a_request_not_whole_in_time_is_answered_408_and_closed(server):
    with connect(server.url) as sock:
        sock.sendall(b"POST /v2/Services HTTP/1.1\r\nHost: telverify\r\nContent-Length: 20\r\n\r\nFriendly")
        sock.settimeout(REQUEST_SECONDS + 5)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["status"] == 408 and "within 10 seconds" in json.loads(body)["message"]


def test_a_connection_that_sends_nothing_is_closed_in_time(server):
    with connect(server.url) as sock:
        sock.settimeout(REQUEST_SECONDS + 5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_never_ending_bodies_are_refused_at_once_and_the_loop_goes_on(server, checking, framing):
    """Unsigned bodies that never end, to a webhook: each is answered at once, its connection
    closed within the linger; checks keep answering."""
    pid = _pid_in(server)
    if framing == "length":
        head = b"POST /sms/status HTTP/1.1\r\nHost: telverify\r\nContent-Length: 1000000000\r\n\r\n"
        piece = b"x" * 1024
    else:
        head = b"POST /sms/status HTTP/1.1\r\nHost: telverify\r\nTransfer-Encoding: chunked\r\n\r\n"
        piece = b"400\r\n" + b"x" * 1024 + b"\r\n"
    answers: list[bytes] = []
    lock = threading.Lock()

    def flood():
        """Never-ending bodies, one connection after another, for 5 s: each answer."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with connect(server.url) as sock:
                sock.sendall(head)
                sock.settimeout(0.05)
                received = b""
                try:
                    while time.monotonic() < deadline + 5:
                        try:
                            sock.sendall(piece)
                        except socket.timeout:
                            pass
                        try:
                            chunk = sock.recv(4096)
                        except socket.timeout:
                            continue
                        if not chunk:
                            break
                        received += chunk
                except OSError:  # reset once the server closed: its answer came before
                    pass
                with lock:
                    answers.append(received)

    floods = [threading.Thread(target=flood) for _ in range(30)]
    for thread in floods:
        thread.start()
    for thread in floods:
        thread.join(20)
    assert len(answers) >= 30
    # Refused for its missing signature, or for its size: either way before the body is read.
    assert {answer[:13] for answer in answers} <= {b"HTTP/1.1 403 ", b"HTTP/1.1 413 "}, {a[:40] for a in answers}
    assert len(checking) > 20 and max(checking) < 1.0, max(checking)
    assert _pid_in(server) == pid  # the worker was not replaced


def test_pipelined_and_expect_continue_requests_are_served(server):
    """Requests that arrive together are answered in order; a client that waits for `100
    Continue` before its body gets it at once."""
    two = (b"GET /healthz/live HTTP/1.1\r\nHost: t\r\n\r\n" * 2)
    with connect(server.url) as sock:
        sock.sendall(two)
        received = b""
        while received.count(b"HTTP/1.1 200") < 2:
            received += sock.recv(4096)
    body = b"FriendlyName=Acme"
    with connect(server.url) as sock:
        token = requests.auth._basic_auth_str(API_KEY, API_SECRET).encode()
        sock.sendall(b"POST /v2/Services HTTP/1.1\r\nHost: t\r\nAuthorization: " + token +
                     b"\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        received = b""
        while b"Acme" not in received:
            received += sock.recv(4096)
        assert b"HTTP/1.1 201 " in received


def test_a_chunked_body_over_the_limit_is_413(server):
    """Read only until it is over the limit: the rest is never waited for."""
    token = requests.auth._basic_auth_str(API_KEY, API_SECRET).encode()
    body = b"".join(b"400\r\n" + b"a" * 1024 + b"\r\n" for _ in range(70))  # no last chunk: never ends
    with connect(server.url) as sock:
        sock.sendall(b"POST /v2/Services HTTP/1.1\r\nHost: t\r\nAuthorization: " + token +
                     b"\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + body)
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")
