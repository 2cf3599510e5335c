"""API abuse: the shared rate limiter (verify/guard.py) on a real redis-server, and failed Basic
authentication slowed, then refused, per client address (verify/api/auth.py), with the
client address read from X-Forwarded-For only behind TRUSTED_PROXIES.

The `limits` moving window stamps hits with the Python process's clock (`time.time()`, passed
into its Lua scripts; Redis's own clock only expires the whole key), so window expiry is
tested with freezegun, exactly, instead of waiting. Delays are recorded by a stand-in
`sleep`, never measured.
"""
from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
import redis
import requests
from freezegun import freeze_time
from limits import parse
from redis.crc import key_slot

from config import load_settings
from tests.support import API_KEY, API_SECRET, ROOT, LiveServer, create_app, free_port, make_env, raw_http
from tests.test_robustness import assert_twilio_error
from verify.core import Core
from verify.protection.auth_failures import LONGEST_DELAY, AuthGuard, client_address, delay_after
from verify.protection.windows import Limiter, Refusal
from verify.store import keys

WRONG = (API_KEY, "not-the-secret-at-all")
GOOD = (API_KEY, API_SECRET)
WINDOW = 900


class Sleeps(list):
    """Stands in for time.sleep: records each delay instead of waiting it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def guarded(app, sleep=None, max_delayed: int = 8) -> Sleeps:
    """Give the app's auth guard a recording sleep (and a slot count); return the recording."""
    sleep = sleep if sleep is not None else Sleeps()
    core = Core.of(app)
    replace(core, auth_guard=AuthGuard(core.limiter, core.settings, sleep=sleep, max_delayed=max_delayed)).install(app)
    return sleep


def small_app(redis_url, standin, **overrides):
    env = dict(AUTH_FAILURES_BEFORE_DELAY="2", AUTH_FAILURES_BEFORE_BLOCK="5",
               AUTH_FAILURE_WINDOW_SECONDS=str(WINDOW))
    env.update(overrides)
    return create_app(make_env(redis_url, standin.base_url, "http://localhost", **env))


@pytest.fixture
def limiter(redis_url):
    return Limiter(redis_url)


@pytest.fixture
def db(redis_url):
    return redis.Redis.from_url(redis_url, decode_responses=True)


def failure_keys(db) -> list[str]:
    return sorted(db.scan_iter(f"{keys.LIMITS_NAMESPACE}:*auth-failures*"))


# -- the Limiter -----------------------------------------------------------------------------------

def test_limiter_allows_the_limit_then_refuses_with_the_seconds_to_wait(limiter):
    three = parse("3/minute")
    with freeze_time("2026-11-24 10:00:00") as clock:
        assert [limiter.hit(three, "sends", "a") for _ in range(3)] == [None, None, None]
        clock.tick(20)
        refusal = limiter.hit(three, "sends", "a")
        assert isinstance(refusal, Refusal)
        # The oldest hit (10:00:00) is in the window up to 10:01:00 inclusive, 40 s from now.
        assert refusal == refusal.retry_after == 40 and str(refusal) == "40" and f"{refusal} s" == "40 s"
        assert refusal.limit is three
        assert limiter.used(three, "sends", "a") == 3  # the refused hit took nothing
        assert limiter.hit(three, "sends", "b") is None  # other identifiers, other window


def test_limiter_test_does_not_consume_and_clear_forgets(limiter):
    two = parse("2/hour")
    assert limiter.test(two, "x") is None
    assert limiter.used(two, "x") == 0
    limiter.hit(two, "x")
    assert limiter.test(two, "x") is None and limiter.used(two, "x") == 1
    assert limiter.test(two, "x", cost=2) is not None  # two more would not fit
    limiter.hit(two, "x")
    refusal = limiter.test(two, "x")
    assert refusal and 3590 <= refusal.retry_after <= 3600
    assert limiter.used(two, "x") == 2
    limiter.clear(two, "x")
    assert limiter.used(two, "x") == 0 and limiter.hit(two, "x") is None


def test_limiter_window_moves_with_the_python_clock(limiter):
    two = parse("2/minute")
    with freeze_time("2026-11-24 10:00:00") as clock:
        limiter.hit(two, "n")
        clock.tick(30)
        limiter.hit(two, "n")
        assert limiter.hit(two, "n") == 30
        clock.tick(30)
        assert limiter.hit(two, "n") == 1  # 60 s after the first hit: still in the window
        clock.tick(1)
        assert limiter.hit(two, "n") is None  # the first hit has left the window
        assert limiter.hit(two, "n") == 29  # the second hit (10:00:30) is the oldest now


def test_limiter_keys_keep_a_hash_tag_and_share_the_numbers_slot(limiter, db):
    service, tag = "VA" + "ab" * 16, "1a2b3c4d"
    five = parse("5/minute")
    limiter.hit(five, "{" + f"{service}:{tag}" + "}", "sends")
    stored = list(db.scan_iter(f"{keys.LIMITS_NAMESPACE}:*"))
    expected = f"tv-limits:LIMITER/{{{service}:{tag}}}/sends/5/1/minute"
    assert stored == [expected] == [limiter.key(five, "{" + f"{service}:{tag}" + "}", "sends")]
    # Redis Cluster would place it with the number's verifications.
    verification = keys.verification(service, "VE" + tag + "0" * 24)
    assert key_slot(expected.encode()) == key_slot(verification.encode())
    assert db.ttl(expected) == 60


def test_fifty_simultaneous_hits_on_five_per_minute_let_exactly_five_through(limiter):
    five = parse("5/minute")
    start = threading.Barrier(50)
    answers: list = []

    def hit():
        start.wait()
        answers.append(limiter.hit(five, "{VA1:cafe}", "burst"))

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 50
    assert answers.count(None) == 5
    assert all(isinstance(a, Refusal) and 1 <= a <= 60 for a in answers if a is not None)
    assert limiter.used(five, "{VA1:cafe}", "burst") == 5


PROCESS = """
import threading, redis
from limits import parse
from verify.protection.windows import Limiter
url = {url!r}
limiter, db = Limiter(url), redis.Redis.from_url(url)
db.incr("test:ready")
assert db.blpop(["test:go"], timeout=60), "never started"
start, allowed = threading.Barrier(10), []
def hit():
    start.wait()
    allowed.append(limiter.hit(parse("5/minute"), "{{VA2:beef}}", "burst") is None)
threads = [threading.Thread(target=hit) for _ in range(10)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sum(allowed))
"""


def test_fifty_hits_from_five_processes_let_exactly_five_through(redis_url, db, limiter):
    script = PROCESS.format(url=redis_url)
    processes = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
                 for _ in range(5)]
    try:
        # Wait until all five are connected and waiting, so their hits overlap.
        while int(db.get("test:ready") or 0) < 5 and all(p.poll() is None for p in processes):
            time.sleep(0.05)
        assert int(db.get("test:ready") or 0) == 5
        db.rpush("test:go", *["go"] * 5)
        outputs = [p.communicate(timeout=60)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [p.returncode for p in processes] == [0] * 5
    assert sum(int(out) for out in outputs) == 5
    assert limiter.used(parse("5/minute"), "{VA2:beef}", "burst") == 5


# -- client addresses ----------------------------------------------------------------------------

@pytest.mark.parametrize("remote, counted_as", [
    ("203.0.113.7", "203.0.113.7"),
    ("203.0.113.7:51234", "203.0.113.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("[2001:db8:1:2::1]:443", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("not an address", "not an address"),
    (None, "unknown"),
])
def test_client_address(remote, counted_as):
    assert client_address(remote) == counted_as


def test_delays_grow_from_a_quarter_second_to_two():
    assert [delay_after(n, 5) for n in range(1, 12)] == [0, 0, 0, 0, 0, 0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert delay_after(1000, 0) == LONGEST_DELAY


# -- failed authentication: slowed, then refused -----------------------------------------------------

def test_failures_are_slowed_then_the_address_is_refused_even_with_good_credentials(redis_url, standin, db,
                                                                                   caplog):
    app = small_app(redis_url, standin)  # delay after 2 failures, refuse at 5
    sleeps = guarded(app)
    client = app.test_client()
    caplog.set_level(logging.INFO, logger="telverify.auth")
    with freeze_time("2026-11-24 10:00:00") as clock:
        for _ in range(2):
            assert_twilio_error(client.get("/v2/Services", auth=WRONG), 401, 20003)
        assert sleeps == []
        # A success in between resets nothing.
        assert client.get("/v2/Services", auth=GOOD).status_code == 200
        clock.tick(10)
        for _ in range(3):
            assert_twilio_error(client.get("/v2/Services", auth=WRONG), 401, 20003)
        assert sleeps == [0.25, 0.5, 1.0]
        assert "authentication blocked for 127.0.0.1: 5 failed attempts" in caplog.text

        refused = client.get("/v2/Services", auth=GOOD)
        body = assert_twilio_error(refused, 429, 20429, "failed authentication attempts", "127.0.0.1")
        # The first failures (10:00:00) are in the 900-second window until 10:15:00 inclusive.
        assert refused.headers["Retry-After"] == "890"
        assert "Try again in 890 seconds" in body["message"]
        assert "request from 127.0.0.1 refused for 890 more seconds" in caplog.text
        # No credentials, wrong ones, or another path under /v2: all refused, none counted.
        assert client.get("/v2/Services").status_code == 429
        assert client.post("/v2/Services", data={"FriendlyName": "x"}, auth=WRONG).status_code == 429
        core = Core.of(app)
        assert core.limiter.used(core.auth_guard.failures, "auth-failures", "127.0.0.1") == 5
        assert sleeps == [0.25, 0.5, 1.0]
        assert client.get("/healthz/live").status_code == 200  # only /v2 is guarded

        clock.tick(WINDOW - 10)  # 10:15:00, the window's inclusive edge
        assert client.get("/v2/Services", auth=GOOD).headers["Retry-After"] == "1"
        clock.tick(1)
        # The two failures of 10:00:00 have left the window; three remain, and the delays go on.
        assert client.get("/v2/Services", auth=GOOD).status_code == 200
        for _ in range(2):
            assert_twilio_error(client.get("/v2/Services", auth=WRONG), 401, 20003)
        assert sleeps == [0.25, 0.5, 1.0, 0.5, 1.0]
        # Refused again until the failures of 10:00:10 leave, at 10:15:10.
        assert client.get("/v2/Services", auth=GOOD).headers["Retry-After"] == "9"
    assert failure_keys(db) == [f"tv-limits:LIMITER/auth-failures/127.0.0.1/5/{WINDOW}/second"]


def test_requests_without_basic_credentials_are_not_counted(redis_url, standin, db):
    app = small_app(redis_url, standin, AUTH_FAILURES_BEFORE_DELAY="1", AUTH_FAILURES_BEFORE_BLOCK="2")
    sleeps = guarded(app)
    client = app.test_client()
    for _ in range(5):
        assert_twilio_error(client.get("/v2/Services"), 401, 20003)
        assert_twilio_error(client.get("/v2/Services", headers={"Authorization": f"Bearer {API_SECRET}"}),
                            401, 20003)
    assert client.get("/v2/Services", auth=GOOD).status_code == 200
    assert sleeps == [] and failure_keys(db) == []


# Basic headers that cannot be read: bytes beyond ASCII sent as they are (handed on as latin-1),
# base64 of bytes that are not UTF-8, and what is not base64 at all.
UNREADABLE_BASIC = [b"Basic \xff\xfe", b"Basic caf\xe9", b"Basic " + base64.b64encode(b"\xff\xfe:\xff"),
                    b"Basic !!!not-base64!!!"]


def test_a_basic_header_that_cannot_be_read_is_a_failure_and_counted(redis_url, standin, db, caplog):
    app = small_app(redis_url, standin, AUTH_FAILURES_BEFORE_DELAY="4", AUTH_FAILURES_BEFORE_BLOCK="4")
    sleeps = guarded(app)
    client = app.test_client()
    for header in UNREADABLE_BASIC:
        answer = client.get("/v2/Services", headers={"Authorization": header.decode("latin-1")})
        assert_twilio_error(answer, 401, 20003)
        assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    assert failure_keys(db) == [f"tv-limits:LIMITER/auth-failures/127.0.0.1/4/{WINDOW}/second"]
    assert_twilio_error(client.get("/v2/Services", auth=GOOD), 429, 20429)  # four failures: blocked
    assert sleeps == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_raw_bytes_in_a_basic_header_over_http_are_a_counted_failure(serve, db, caplog):
    """As a client that writes the header's bytes itself sends them, to werkzeug's HTTP server:
    a 401 in Twilio's shape, no traceback, and counted like a wrong secret."""
    server = serve()  # refused after 3 failures
    for header in UNREADABLE_BASIC[:3]:
        status, headers, body = raw_http(server.url, b"GET /v2/Services HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         b"Authorization: " + header + b"\r\nConnection: close\r\n\r\n")
        assert (status, body["code"], body["status"]) == (401, 20003, 401), body
        assert set(body) == {"code", "message", "more_info", "status"}
        assert headers["WWW-Authenticate"].startswith("Basic ")
    assert failure_keys(db) == [f"tv-limits:LIMITER/auth-failures/127.0.0.1/3/{WINDOW}/second"]
    assert get(server, GOOD).status_code == 429
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_ipv6_clients_are_counted_per_64(redis_url, standin):
    app = small_app(redis_url, standin, AUTH_FAILURES_BEFORE_DELAY="3", AUTH_FAILURES_BEFORE_BLOCK="3")
    guarded(app)
    client = app.test_client()

    def get(remote, auth):
        return client.get("/v2/Services", auth=auth, environ_base={"REMOTE_ADDR": remote})

    for address in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"):  # one /64
        assert get(address, WRONG).status_code == 401
    assert_twilio_error(get("2001:db8:1:2::99", GOOD), 429, 20429, "2001:db8:1:2::/64")
    assert get("2001:db8:1:3::1", GOOD).status_code == 200  # the next /64
    assert get("203.0.113.7", GOOD).status_code == 200


def test_delayed_answers_are_bounded_and_beyond_them_refused_before_comparing(redis_url, standin):
    """One slot: while a delayed failure holds it, the same address is refused at once, even with
    good credentials (nothing is compared), while an address with few failures is untouched."""
    app = small_app(redis_url, standin, AUTH_FAILURES_BEFORE_DELAY="1", AUTH_FAILURES_BEFORE_BLOCK="10")
    entered, release = threading.Event(), threading.Event()

    def held_sleep(seconds):
        entered.set()
        assert release.wait(30)

    guarded(app, sleep=held_sleep, max_delayed=1)
    attacker = {"REMOTE_ADDR": "198.51.100.66"}
    assert app.test_client().get("/v2/Services", auth=WRONG, environ_base=attacker).status_code == 401
    answers = []
    slow = threading.Thread(target=lambda: answers.append(
        app.test_client().get("/v2/Services", auth=WRONG, environ_base=attacker)))
    slow.start()
    try:
        assert entered.wait(30)
        refused = app.test_client().get("/v2/Services", auth=GOOD, environ_base=attacker)
        assert_twilio_error(refused, 429, 20429, "198.51.100.66")
        assert refused.headers["Retry-After"] == "2"
        bystander = {"REMOTE_ADDR": "198.51.100.1"}
        # (after one failure, its next one would be delayed, and it would need the slot too)
        assert app.test_client().get("/v2/Services", auth=GOOD, environ_base=bystander).status_code == 200
        assert app.test_client().get("/v2/Services", auth=WRONG, environ_base=bystander).status_code == 401
    finally:
        release.set()
        slow.join(30)
    assert [a.status_code for a in answers] == [401]
    # The slot is free again: the address may authenticate (its failures are under the block).
    assert app.test_client().get("/v2/Services", auth=GOOD, environ_base=attacker).status_code == 200


def test_with_redis_unreachable_failures_are_slowed_the_most(standin):
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(make_env(url, standin.base_url, "http://localhost"))
    sleeps = guarded(app)
    client = app.test_client()
    assert_twilio_error(client.get("/v2/Services", auth=WRONG), 401, 20003)
    assert sleeps == [LONGEST_DELAY]
    assert_twilio_error(client.get("/v2/Services"), 401, 20003)  # no credentials: no guess
    assert_twilio_error(client.get("/v2/Services", auth=GOOD), 503, 20503)
    assert sleeps == [LONGEST_DELAY]


# -- client addresses behind proxies, over real HTTP ----------------------------------------------

@pytest.fixture
def serve(redis_url, standin):
    servers = []

    def start(**overrides):
        env = dict(AUTH_FAILURES_BEFORE_DELAY="3", AUTH_FAILURES_BEFORE_BLOCK="3")
        env.update(overrides)
        server = LiveServer(lambda url: make_env(redis_url, standin.base_url, url, **env)).__enter__()
        servers.append(server)
        guarded(server.app)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def get(server, auth, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return requests.get(f"{server.url}/v2/Services", auth=auth, headers=headers, timeout=10)


def test_behind_one_proxy_each_forwarded_client_is_counted_apart(serve, db):
    server = serve(TRUSTED_PROXIES="1")
    for _ in range(3):
        assert get(server, WRONG, "198.51.100.7").status_code == 401
    refused = get(server, GOOD, "198.51.100.7")
    assert refused.status_code == 429 and refused.json()["code"] == 20429
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW
    assert "198.51.100.7" in refused.json()["message"]
    # Another client behind the same proxy, and the proxy itself, are not refused.
    assert get(server, GOOD, "198.51.100.8").status_code == 200
    assert get(server, WRONG, "198.51.100.8").status_code == 401
    assert get(server, GOOD).status_code == 200  # no X-Forwarded-For: the proxy's own request
    # The proxy appends the address it saw; what the client wrote before it is not trusted.
    assert get(server, GOOD, "198.51.100.7, 198.51.100.9").status_code == 200
    assert get(server, GOOD, "198.51.100.9, 198.51.100.7").status_code == 429
    assert failure_keys(db) == [f"tv-limits:LIMITER/auth-failures/{a}/3/{WINDOW}/second"
                                for a in ("198.51.100.7", "198.51.100.8")]


def test_behind_two_proxies_the_address_seen_by_the_outer_one_counts(serve):
    server = serve(TRUSTED_PROXIES="2")
    for forged in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        assert get(server, WRONG, f"{forged}, 198.51.100.7, 10.0.0.2").status_code == 401
    assert get(server, GOOD, "198.51.100.7, 10.0.0.2").status_code == 429
    assert get(server, GOOD, "198.51.100.8, 10.0.0.2").status_code == 200


def test_without_trusted_proxies_a_forged_x_forwarded_for_changes_nothing(serve, db):
    server = serve()  # TRUSTED_PROXIES defaults to 0
    assert Core.of(server.app).settings.trusted_proxies == 0
    for forged in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        assert get(server, WRONG, forged).status_code == 401
    refused = get(server, GOOD, "203.0.113.4")
    assert refused.status_code == 429 and "127.0.0.1" in refused.json()["message"]
    assert failure_keys(db) == [f"tv-limits:LIMITER/auth-failures/127.0.0.1/3/{WINDOW}/second"]


# -- settings ----------------------------------------------------------------------------------------

def env_with(**overrides):
    return make_env("redis://127.0.0.1:6399/2", "http://127.0.0.1:9999", "https://verify.example.com",
                    **overrides)


def test_abuse_settings_defaults():
    settings = load_settings(env_with())
    assert (settings.trusted_proxies, settings.auth_failures_before_delay, settings.auth_failures_before_block,
            settings.auth_failure_window_seconds) == (0, 5, 20, 900)
    settings = load_settings(env_with(TRUSTED_PROXIES="2", AUTH_FAILURES_BEFORE_DELAY="0",
                                      AUTH_FAILURES_BEFORE_BLOCK="1", AUTH_FAILURE_WINDOW_SECONDS="60"))
    assert (settings.trusted_proxies, settings.auth_failures_before_delay, settings.auth_failures_before_block,
            settings.auth_failure_window_seconds) == (2, 0, 1, 60)


def test_abuse_settings_are_validated_together():
    from config import ConfigError
    with pytest.raises(ConfigError) as raised:
        load_settings(env_with(TRUSTED_PROXIES="6", AUTH_FAILURES_BEFORE_DELAY="30", AUTH_FAILURES_BEFORE_BLOCK="20",
                               AUTH_FAILURE_WINDOW_SECONDS="-5", SECRET_KEY="short"))
    problems = str(raised.value)
    assert "TRUSTED_PROXIES must be a whole number from 0 to 5" in problems
    assert "AUTH_FAILURES_BEFORE_DELAY must not be above AUTH_FAILURES_BEFORE_BLOCK" in problems
    assert "AUTH_FAILURE_WINDOW_SECONDS must be a whole number from 1 to 86400" in problems
    assert "SECRET_KEY" in problems
    for value in ("one", "1.5", "0"):
        with pytest.raises(ConfigError, match="AUTH_FAILURES_BEFORE_BLOCK must be a whole number from 1 to 1000"):
            load_settings(env_with(AUTH_FAILURES_BEFORE_BLOCK=value, AUTH_FAILURES_BEFORE_DELAY="0"))


def test_a_refusal_serialises_as_its_number():
    assert json.dumps({"retry": Refusal(parse("1/minute"), 0)}) == '{"retry": 1}'
