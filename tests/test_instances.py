"""Two telverify instances, each its own gunicorn, behind one address and sharing one store: the
guarantees one process keeps hold across both. A bucket of 5 lets exactly 5 of 50 simultaneous
starts through, and 20 simultaneous right codes approve once, on one Redis and on a Redis
Cluster of three masters. Each instance's access log shows it served its share."""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import redis
import requests

from tests.cluster import LocalCluster
from tests.support import API_KEY, API_SECRET, MOBILE, Gunicorn, at_once, code_in, make_env

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
def instances(store, standin, tmp_path_factory):
    """Two gunicorns on the store, each with its access log: their URLs and logs."""
    folder = tmp_path_factory.mktemp("instances")
    url, _ = store
    started = []
    try:
        for name in ("first", "second"):
            log = folder / f"{name}-access.log"
            # A start holds one of TWILIO_THREADS_PER_WORKER (36 of 48 threads) from the look at
            # its limits until Twilio answers, so each instance's 25 starts all find one: a burst
            # beyond them would be answered 503 at once, a refusal of another kind.
            instance = Gunicorn(folder, lambda own: make_env(url, standin.base_url, own),
                                GUNICORN_THREADS="48", GUNICORN_ACCESS_LOG=str(log))
            started.append(instance.__enter__())
            instance.access_log = log
        yield started
    finally:
        for instance in started:
            instance.__exit__()


@pytest.fixture(autouse=True)
def empty_store(store, standin):
    store[1]()
    standin.clear()


def served(instance) -> int:
    """The API requests an instance's access log shows it answered."""
    path: Path = instance.access_log
    return sum('"POST /v2/' in line or '"GET /v2/' in line for line in path.read_text().splitlines())


def shares(instances, before: tuple[int, ...], total: int) -> tuple[int, ...]:
    """What each instance served since `before`, once their logs add up to `total` (gunicorn
    writes a request's line after its answer has gone)."""
    deadline = time.monotonic() + 10
    while True:
        counted = tuple(served(instance) - start for instance, start in zip(instances, before))
        if sum(counted) >= total or time.monotonic() > deadline:
            return counted
        time.sleep(0.05)


def test_a_bucket_of_five_lets_five_of_fifty_starts_through(instances, standin):
    first, second = instances
    service = requests.post(f"{first.url}/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH).json()["sid"]
    limit = requests.post(f"{first.url}/v2/Services/{service}/RateLimits", data={"UniqueName": "end_user_ip"},
                          auth=AUTH).json()["sid"]
    bucket = requests.post(f"{second.url}/v2/Services/{service}/RateLimits/{limit}/Buckets",
                           data={"Max": "5", "Interval": "60"}, auth=AUTH)
    assert bucket.status_code == 201, bucket.text
    before = served(first), served(second)
    numbers = [f"+4474001{index:05d}" for index in range(50)]
    answers = at_once([(f"{(first, second)[index % 2].url}/v2/Services/{service}/Verifications",
                        {"To": number, "Channel": "sms", "RateLimits": '{"end_user_ip": "203.0.113.7"}'})
                       for index, number in enumerate(numbers)])
    assert Counter(a.status_code for a in answers) == Counter({201: 5, 429: 45})
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {20429}
    assert sum(len(standin.requests(number)) for number in numbers) == 5
    counted = shares(instances, before, 50)
    assert sum(counted) == 50 and min(counted) > 0, counted


def test_twenty_right_codes_at_once_approve_once(instances, standin):
    first, second = instances
    service = requests.post(f"{first.url}/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH).json()["sid"]
    started = requests.post(f"{second.url}/v2/Services/{service}/Verifications",
                            data={"To": MOBILE, "Channel": "sms"}, auth=AUTH)
    assert started.status_code == 201, started.text
    code = code_in(standin.wait_for_message(MOBILE))
    answers = at_once([(f"{(first, second)[index % 2].url}/v2/Services/{service}/VerificationCheck",
                        {"To": MOBILE, "Code": code}) for index in range(20)])
    outcomes = Counter(a.json().get("status") if a.status_code == 200 else a.json()["code"] for a in answers)
    assert outcomes == Counter({"approved": 1, 20404: 19})
    fetched = requests.get(f"{first.url}/v2/Services/{service}/Verifications/{started.json()['sid']}", auth=AUTH)
    assert fetched.json()["status"] == "approved"
