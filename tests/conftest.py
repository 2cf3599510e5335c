"""Fixtures: a private redis-server, the local Twilio stand-in, telverify live over HTTP,
and the official `twilio` SDK's Verify client pointed at it (helpers in tests/support.py)."""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import redis
from hypothesis import settings
from playwright.sync_api import sync_playwright

from app import create_app
from tests.support import (
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    LANDLINE,
    MOBILE,
    LiveServer,
    make_env,
    start_redis,
    verify_client,
)
from twilio_standin import StandIn

CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by ./dev test (never `playwright install`)

# Property and fuzz tests draw the same examples on every run (CI repeats exactly) and keep no
# example database in the work tree.
settings.register_profile("telverify", derandomize=True, database=None)
settings.load_profile("telverify")


@pytest.fixture(scope="session")
def redis_url():
    """The suite's redis-server, in a temporary folder."""
    folder = tempfile.mkdtemp(prefix="telverify-redis-")
    process, url = start_redis(folder)
    yield url
    process.terminate()
    process.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def standin():
    # Calls run at 1/20 of real time: a 6-second key prompt times out in 0.3 s.
    with StandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.05) as server:
        yield server


@pytest.fixture(scope="session")
def live(redis_url, standin):
    with LiveServer(lambda url: make_env(redis_url, standin.base_url, url)) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_state(request):
    """Every test starts with an empty Redis and an empty stand-in."""
    if "redis_url" in request.fixturenames:
        redis.Redis.from_url(request.getfixturevalue("redis_url")).flushdb()
    if "standin" in request.fixturenames:
        server = request.getfixturevalue("standin")
        server.clear()
        server.clear_faults()
        server.clear_callees()
        server.send_delay = 0.0
    yield


@pytest.fixture
def nobody_answers(standin):
    """The stand-in really places each call, and nobody picks up: for tests that play Twilio's
    webhooks themselves (or only need calls placed)."""
    standin.set_callee(MOBILE, answer="no-answer")
    standin.set_callee(LANDLINE, answer="no-answer")
    yield
    standin.clear_callees()


@pytest.fixture
def app(redis_url, standin):
    """An app for Flask's test client; PUBLIC_BASE_URL matches the test client's host."""
    return create_app(make_env(redis_url, standin.base_url, "http://localhost"))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sdk(live):
    return verify_client(live.url)


@pytest.fixture
def service(sdk):
    return sdk.verify.v2.services.create(friendly_name="Acme")


@pytest.fixture
def auth():
    return (API_KEY, API_SECRET)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, for the tests of pages (the dev phone, Entra sign-ins)."""
    if not os.access(CHROMIUM, os.X_OK):  # fail, never skip: ./dev test installs it
        pytest.fail(f"{CHROMIUM} is missing: run ./dev test, which installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()
