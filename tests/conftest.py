"""Fixtures: a private redis-server, the local Twilio stand-in, telverify live over HTTP,
and the official `twilio` SDK's Verify client pointed at it."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis
from hypothesis import settings
from twilio.rest import Client
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from twilio_standin import StandIn  # noqa: E402
from verify.carrier import RedirectingHttpClient  # noqa: E402

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM_NUMBER = "+15017122661"
API_KEY, API_SECRET = "relying-app", "relying-app-secret-0123456789"
SECRET_KEY = "test-secret-key-0123456789abcdef-0123456789"
MOBILE = "+447400123456"  # a UK mobile number (valid for phonenumbers; the stand-in never rings it)
LANDLINE = "+442079460000"

# Property and fuzz tests draw the same examples on every run (CI repeats exactly) and keep no
# example database in the work tree.
settings.register_profile("telverify", derandomize=True, database=None)
settings.load_profile("telverify")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: str, unix_socket: bool = False) -> tuple[subprocess.Popen, str]:
    """A redis-server of our own with its data in `folder`, answering: (process, url). On a free
    TCP port, or with `unix_socket` on a Unix socket in `folder` only (no TCP port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit("redis-server is not installed: run ./dev test, which installs it", returncode=3)
    if unix_socket:
        path = os.path.join(folder, "redis.sock")
        listen, url = ["--port", "0", "--unixsocket", path, "--unixsocketperm", "700"], f"unix://{path}?db=0"
    else:
        port = free_port()
        listen, url = ["--port", str(port), "--bind", "127.0.0.1"], f"redis://127.0.0.1:{port}/0"
    process = subprocess.Popen([binary, *listen, "--dir", folder, "--save", "", "--appendonly", "no",
                                "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    pytest.exit("the test redis-server did not start", returncode=3)


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


def make_env(redis_url: str, standin_url: str, public_base_url: str, **overrides) -> dict:
    env = {
        "REDIS_URL": redis_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": standin_url,
        "TWILIO_TIMEOUT_SECONDS": "2",
        "PUBLIC_BASE_URL": public_base_url,
        "API_CREDENTIALS": f"{API_KEY}:{API_SECRET},second-app:second-app-secret-0123",
        "SECRET_KEY": SECRET_KEY,
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


class LiveServer:
    """telverify served over real HTTP by werkzeug's threaded server, in this process."""

    def __init__(self, env_factory):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(env_factory(self.url))
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


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


def verify_client(base_url: str, key: str = API_KEY, secret: str = API_SECRET) -> Client:
    """The `twilio` SDK, as a relying application uses it, sent to telverify instead of Twilio."""
    return Client(username=key, password=secret, account_sid=ACCOUNT_SID,
                  http_client=RedirectingHttpClient(base_url, timeout=10))


@pytest.fixture
def sdk(live):
    return verify_client(live.url)


@pytest.fixture
def service(sdk):
    return sdk.verify.v2.services.create(friendly_name="Acme")


@pytest.fixture
def auth():
    return (API_KEY, API_SECRET)


def code_in(message: dict) -> str:
    import re
    match = re.search(r":\s*(\d{4,10})", message["body"])
    assert match, f"no code in {message['body']!r}"
    return match.group(1)
