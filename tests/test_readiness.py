"""Readiness, as a load balancer or Kubernetes reads it: Redis takes writes and holds every
script; a worker told to stop fails it first and goes on serving, calls in progress included."""
from __future__ import annotations

import signal
import time

import redis
import requests

from app import create_app
from tests.support import API_KEY, API_SECRET, MOBILE, Gunicorn, make_env, run_call, start_over_http, start_redis
from verify.store.scripts import REGISTERED


def test_readiness_loads_the_scripts_a_restarted_redis_lost(client, redis_url):
    store = redis.Redis.from_url(redis_url)
    store.script_flush()
    assert not any(store.script_exists(*REGISTERED))
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ok"}
    assert all(store.script_exists(*REGISTERED)) and len(REGISTERED) >= 30


def test_a_redis_that_takes_no_writes_is_not_ready(tmp_path, standin):
    process, url = start_redis(str(tmp_path))
    try:
        client = create_app(make_env(url, standin.base_url, "http://localhost")).test_client()
        assert client.get("/healthz/ready").status_code == 200
        # What a replica, or a primary cut off from its replicas, answers to a write.
        redis.Redis.from_url(url).config_set("min-replicas-to-write", 1)
        ready = client.get("/healthz/ready")
        assert ready.status_code == 503 and ready.get_json()["code"] == 20503
        assert client.get("/healthz/live").status_code == 200
    finally:
        process.kill()
        process.wait()


def test_a_stopping_worker_fails_readiness_first_and_still_answers_a_call(tmp_path, redis_url, standin):
    # The phone rings for 1 s (20 s at the stand-in's 1/20 time), so the call's webhooks come after
    # the worker was told to stop.
    standin.set_callee(MOBILE, answer="human", ring=20, keys=["#"])
    env = lambda url: make_env(redis_url, standin.base_url, url)  # noqa: E731
    with Gunicorn(tmp_path, env, SHUTDOWN_DRAIN_SECONDS="5") as server:
        service, started = start_over_http(server.url, "call_approve")
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while (ready := requests.get(f"{server.url}/healthz/ready", timeout=5)).status_code == 200:
            assert time.monotonic() < deadline, "readiness never failed"
            time.sleep(0.05)
        assert ready.status_code == 503 and ready.json() == {"status": "draining"}
        assert requests.get(f"{server.url}/healthz/live", timeout=5).status_code == 200

        call = run_call(standin, MOBILE)
        assert call["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."
        assert server.process.wait(20) == 0  # then it stops by itself
        assert "Shutting down" in server.log()
    fetched = create_app(make_env(redis_url, standin.base_url, "http://localhost")).test_client().get(
        f"/v2/Services/{service}/Verifications/{started.json()['sid']}", auth=(API_KEY, API_SECRET))
    assert fetched.get_json()["status"] == "approved"
