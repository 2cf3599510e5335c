"""Two telverify instances, each its own gunicorn, behind one address (nginx, configured as the
README shows it, with both in its upstream) and sharing one store: the guarantees one process
keeps hold across both. A bucket of 5 lets exactly 5 of 50 simultaneous starts through, and 20
simultaneous right codes approve once, on one Redis and on a Redis Cluster of three masters.
Each instance's access log shows it served its share."""
from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack

import pytest
import redis
import requests

from tests.cluster import LocalCluster
from tests.nginx import nginx
from tests.support import API_KEY, API_SECRET, MOBILE, Gunicorn, at_once, code_in, free_port, make_env

AUTH = (API_KEY, API_SECRET)


@pytest.fixture(scope="module", params=["redis", "cluster"])
def store(request, tmp_path_factory):
    """The store both instances share: (REDIS_URL, a function that empties it)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        yield url, lambda: redis.Redis.from_url(url).flushdb()
    else:
        with LocalCluster("telverify", "p@ss:w/rd") as cluster:
            yield cluster.url, cluster.flush


@pytest.fixture(scope="module")
def front(store, standin, tmp_path_factory):
    """Two gunicorns on the store, each with its access log, behind nginx: nginx's https
    address, which is both instances' PUBLIC_BASE_URL, and the instances."""
    folder = tmp_path_factory.mktemp("instances")
    https_port, http_port = free_port(), free_port()
    public = f"https://localhost:{https_port}"
    env = lambda _: make_env(store[0], standin.base_url, public)  # noqa: E731
    with ExitStack() as stack:
        instances = []
        for name in ("first", "second"):
            # A start that passes the look at its limits takes one of TWILIO_THREADS_PER_WORKER
            # (36 of 48 threads) before its limits are counted, and holds it until Twilio answers.
            # All 50 pass the look at once, so each instance's 25 must find one: a burst beyond
            # them would be answered 503 at once, a refusal of another kind.
            log = folder / f"{name}-access.log"
            instance = stack.enter_context(Gunicorn(folder, env, GUNICORN_THREADS="48", BIND_HOST="127.0.0.1",
                                                    TRUSTED_PROXIES="1", GUNICORN_ACCESS_LOG=str(log)))
            instance.access_log = log
            instances.append(instance)
        stack.enter_context(nginx(folder, https_port, http_port, *(instance.port for instance in instances)))
        # This process's clients, and the stand-in playing Twilio in it, trust the test CA.
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("SSL_CERT_FILE", str(folder / "ca.pem"))
        patch.setenv("REQUESTS_CA_BUNDLE", str(folder / "ca.pem"))
        yield public, instances


@pytest.fixture(autouse=True)
def empty_store(store, standin):
    store[1]()
    standin.clear()


def shares(instances, request: str, total: int) -> tuple[int, ...]:
    """How many times each instance's access log shows `request` ("POST /path"), once they add
    up to `total` (gunicorn writes a request's line after its answer has gone)."""
    deadline = time.monotonic() + 10
    while True:
        counted = tuple(instance.access_log.read_text().count(f'"{request} ') for instance in instances)
        if sum(counted) >= total or time.monotonic() > deadline:
            return counted
        time.sleep(0.05)


def test_a_bucket_of_five_lets_five_of_fifty_starts_through(front, standin):
    url, instances = front
    service = requests.post(f"{url}/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH).json()["sid"]
    limit = requests.post(f"{url}/v2/Services/{service}/RateLimits", data={"UniqueName": "end_user_ip"},
                          auth=AUTH).json()["sid"]
    bucket = requests.post(f"{url}/v2/Services/{service}/RateLimits/{limit}/Buckets",
                           data={"Max": "5", "Interval": "60"}, auth=AUTH)
    assert bucket.status_code == 201, bucket.text
    numbers = [f"+4474001{index:05d}" for index in range(50)]
    answers = at_once([(f"{url}/v2/Services/{service}/Verifications",
                        {"To": number, "Channel": "sms", "RateLimits": '{"end_user_ip": "203.0.113.7"}'})
                       for number in numbers])
    assert Counter(a.status_code for a in answers) == Counter({201: 5, 429: 45})
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {20429}
    assert sum(len(standin.requests(number)) for number in numbers) == 5
    counted = shares(instances, f"POST /v2/Services/{service}/Verifications", 50)
    assert sum(counted) == 50 and min(counted) > 0, counted


def test_twenty_right_codes_at_once_approve_once(front, standin):
    url, instances = front
    service = requests.post(f"{url}/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH).json()["sid"]
    started = requests.post(f"{url}/v2/Services/{service}/Verifications",
                            data={"To": MOBILE, "Channel": "sms"}, auth=AUTH)
    assert started.status_code == 201, started.text
    code = code_in(standin.wait_for_message(MOBILE))
    answers = at_once([(f"{url}/v2/Services/{service}/VerificationCheck", {"To": MOBILE, "Code": code})] * 20)
    outcomes = Counter(a.json().get("status") if a.status_code == 200 else a.json()["code"] for a in answers)
    assert outcomes == Counter({"approved": 1, 20404: 19})
    counted = shares(instances, f"POST /v2/Services/{service}/VerificationCheck", 20)
    assert sum(counted) == 20 and min(counted) > 0, counted
    fetched = requests.get(f"{url}/v2/Services/{service}/Verifications/{started.json()['sid']}", auth=AUTH)
    assert fetched.json()["status"] == "approved"
