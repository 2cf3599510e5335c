"""What the tests share beside their fixtures: the suite's constants and secrets, a private
redis-server, the app served over real HTTP, and the `twilio` SDK pointed at it."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
from twilio.rest import Client
from werkzeug.serving import make_server

from app import create_app
from verify.model import record_in
from verify.store import keys
from verify.twilio.client import RedirectingHttpClient

ROOT = Path(__file__).resolve().parents[1]

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2  # telverify's account at Twilio (the stand-in's)
APP_ACCOUNT_SID = "AC" + "a1" * 16  # the relying application's account at telverify
# A second credential of that account, shaped as Twilio's API keys are (SK...): the form both
# SDKs take unchanged, with APP_ACCOUNT_SID beside it.
KEY_SID, KEY_SECRET = "SK" + "5c" * 16, "api-key-secret-0123456789"
SECOND_KEY, SECOND_SECRET = "second-app", "second-app-secret-0123"  # an account of its own
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM_NUMBER = "+15017122661"
API_KEY, API_SECRET = "relying-app", "relying-app-secret-0123456789"
SECOND_KEY, SECOND_SECRET = "second-app", "second-app-secret-0123"  # the second account's only credential
ADMIN_KEY, ADMIN_SECRET = "helpdesk", "helpdesk-secret-0123456789"  # /admin
SECRET_KEY = "test-secret-key-0123456789abcdef-0123456789"
MOBILE = "+447400123456"  # a UK mobile number (valid for phonenumbers; the stand-in never rings it)
LANDLINE = "+442079460000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# How the tests' redis-servers persist: an append-only file written every second, as production
# needs (verify/store/persistence.py), so that starting the app logs no warning. IN_MEMORY is for
# a test that wants a Redis which keeps nothing.
DURABLE = ("--appendonly", "yes", "--appendfsync", "everysec", "--save", "")
IN_MEMORY = ("--appendonly", "no", "--save", "")


def start_redis(folder: str, unix_socket: bool = False, persistence=DURABLE) -> tuple[subprocess.Popen, str]:
    """A redis-server of our own with its data in `folder`, answering: (process, url). On a free
    TCP port, or with `unix_socket` on a Unix socket in `folder` only (no TCP port)."""
    if unix_socket:
        path = os.path.join(folder, "redis.sock")
        listen, url = ["--port", "0", "--unixsocket", path, "--unixsocketperm", "700"], f"unix://{path}?db=0"
    else:
        port = free_port()
        listen, url = ["--port", str(port), "--bind", "127.0.0.1"], f"redis://127.0.0.1:{port}/0"
    return redis_server(folder, listen, url, persistence), url


def redis_server(folder: str, options: list[str], url: str, persistence=DURABLE) -> subprocess.Popen:
    """A redis-server started with `options`, its data in `folder` kept as `persistence` says,
    once it answers at `url`."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit("redis-server is not installed: run ./dev test, which installs it", returncode=3)
    process = subprocess.Popen([binary, *options, "--dir", folder, *persistence, "--protected-mode", "yes"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    pytest.exit("the test redis-server did not start", returncode=3)


class Started:
    """Processes started by `_start` when entered, stopped by `__exit__`, which also cleans up
    after a start that fails half-way."""

    def _start(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        raise NotImplementedError


def make_env(redis_url: str, standin_url: str, public_base_url: str, **overrides) -> dict:
    env = {
        "REDIS_URL": redis_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": standin_url,
        "TWILIO_TIMEOUT_SECONDS": "2",
        "PUBLIC_BASE_URL": public_base_url,
        "API_CREDENTIALS": f"{APP_ACCOUNT_SID}/{API_KEY}:{API_SECRET},{APP_ACCOUNT_SID}/{KEY_SID}:{KEY_SECRET},"
                           f"{SECOND_KEY}:{SECOND_SECRET}",
        "ADMIN_CREDENTIALS": f"{ADMIN_KEY}:{ADMIN_SECRET}",
        "SECRET_KEY": SECRET_KEY,
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


class Served:
    """A WSGI app served over real HTTP by werkzeug's threaded server, in this process, on a
    free port of loopback: `url` is known before the app is made (`serve`)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def serve(self, app) -> None:
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


class LiveServer(Served):
    """telverify, made with the environment `env_factory` gives for its URL."""

    def __init__(self, env_factory):
        super().__init__()
        self.app = create_app(env_factory(self.url))
        self.serve(self.app)


class Gunicorn:
    """telverify under gunicorn, as the Procfile runs it, in a process of its own: one worker of
    4 threads, unpinned (the machine's cores are shared), stopping without draining, its log in
    `folder`. Served once /healthz/ready answers."""

    def __init__(self, folder: Path, env_factory, **settings: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(folder) / f"gunicorn-{self.port}.log"
        self.env = {**os.environ, **env_factory(self.url), "PORT": str(self.port), "WEB_CONCURRENCY": "1",
                    "GUNICORN_THREADS": "4", "GUNICORN_PIN_WORKERS": "0", "SHUTDOWN_DRAIN_SECONDS": "0", **settings}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        command = (ROOT / "Procfile").read_text().split("web:", 1)[1].split()
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90  # a busy machine takes seconds to import the app
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log()}"
            try:
                if requests.get(f"{self.url}/healthz/ready", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise AssertionError(f"gunicorn did not serve in 90 s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_over_http(base_url: str, channel: str, to: str = MOBILE) -> tuple[str, requests.Response]:
    """A new service, and a verification started on it by plain HTTP (its answer's headers are
    read): (the service's sid, the start's answer, 201)."""
    auth = (API_KEY, API_SECRET)
    service = requests.post(f"{base_url}/v2/Services", data={"FriendlyName": "Acme"}, auth=auth,
                            timeout=10).json()["sid"]
    started = requests.post(f"{base_url}/v2/Services/{service}/Verifications", data={"To": to, "Channel": channel},
                            auth=auth, timeout=10)
    assert started.status_code == 201, started.text
    return service, started


def at_once(requests_to_send: list[tuple[str, dict]], auth=(API_KEY, API_SECRET)) -> list[requests.Response]:
    """POST every (url, form) at the same instant, each from its own thread and connection: the
    answers, in order."""
    barrier = threading.Barrier(len(requests_to_send))
    answers: list = [None] * len(requests_to_send)

    def send(index, url, form):
        barrier.wait()
        answers[index] = requests.post(url, data=form, auth=auth, timeout=30)

    threads = [threading.Thread(target=send, args=(index, *pair)) for index, pair in enumerate(requests_to_send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def raw_http(base_url: str, request: bytes) -> tuple[int, http.client.HTTPMessage, dict | bytes]:
    """Send `request`, bytes exactly as written (what no HTTP library would send: raw bytes in a
    header, a chunked body), to the server at `base_url` on a connection of its own: (the status,
    the headers, the body, as JSON when it is JSON)."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    if response.headers.get("Content-Type") == "application/json":
        body = json.loads(body)
    return response.status, response.headers, body


def verify_client(base_url: str, key: str = API_KEY, secret: str = API_SECRET) -> Client:
    """The `twilio` SDK, as a relying application uses it, sent to telverify instead of Twilio."""
    return Client(username=key, password=secret, account_sid=APP_ACCOUNT_SID,
                  http_client=RedirectingHttpClient(base_url, timeout=10))


def run_call(standin, to: str) -> dict:
    """The stand-in's next call to `to`, once it has ended."""
    call = standin.wait_for_call(to, timeout=10)
    return standin.wait_for_call_end(call["sid"], timeout=30)


def code_in(message: dict) -> str:
    match = re.search(r":\s*(\d{4,10})", message["body"])
    assert match, f"no code in {message['body']!r}"
    return match.group(1)


RECORD_FIELDS = ("to", "ch", "st", "ca", "ua", "ex", "lc", "ck", "fr")


def _record_fields(record: str) -> dict:
    fields = record.split("|")
    newest = fields[0].startswith("*")  # the number's newest verification
    return {**dict(zip(RECORD_FIELDS, fields)), "to": fields[0].lstrip("*"), "newest": newest,
            "attempts": [entry.split(",") for entry in fields[9:]]}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def stored_record(store: redis.Redis, service_sid: str, sid: str) -> dict | None:
    """A verification's record as Redis holds it (store/keys.py's legend): its fields by name,
    and `attempts`, each a list of its fields; None when there is none."""
    number_key, _ = keys.verification_keys(service_sid, sid)
    text = store.get(number_key)
    record = record_in(_text(text), sid) if text else None
    return None if record is None else _record_fields(record)


def stored_records(store: redis.Redis) -> dict[str, dict]:
    """Every verification's record in Redis (one Redis, not a cluster), by sid."""
    records = {}
    for key in store.scan_iter("*:number"):
        tag = re.search(r":([0-9a-f]+)\}:number$", _text(key)).group(1)
        for line in _text(store.get(key)).split("\n")[1:]:
            name, _, value = line.partition("=")
            if not name.startswith("+"):  # a number's own entry
                records["VE" + tag + name] = _record_fields(value)
    return records


def stored_checks(store: redis.Redis, service_sid: str, sid: str) -> int:
    """The checks a verification has counted, from its record."""
    return int(stored_record(store, service_sid, sid)["ck"])


# A code as a call reads it out: "1. 2. 3. 4. 5. 6." (voice/speech.py's spoken digits).
CODE_READING = re.compile(r"(?:\d\. )+\d\.")


def application_errors(standin) -> list[dict]:
    """What the stand-in's calls heard as "an application error has occurred": Twilio reads any
    failed webhook aloud so, and no test may leave one."""
    return [event for call in standin.calls() for event in call["transcript"] if event["type"] == "application_error"]


# /my/, the people's own pages (tests/test_my_pages.py, test_my_browser.py): a demo directory of two.
MY_PERSON, MY_PASSWORD = "alex-morgan", "correct horse battery"
MY_OTHER, MY_OTHER_PASSWORD = "sam-brown", "another password"


def my_env(redis_url: str, standin_url: str, url: str, service_sid: str, **more) -> dict:
    return make_env(redis_url, standin_url, url, MY_SERVICE_SID=service_sid,
                    MY_DEMO_PEOPLE=f"{MY_PERSON}:{MY_PASSWORD},{MY_OTHER}:{MY_OTHER_PASSWORD}", **more)
