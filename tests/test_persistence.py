"""Redis persistence, as telverify asks it at start-up (verify/store/persistence.py), and what
an append-only file keeps across a hard restart of Redis."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import pyotp
import pytest
import requests

from app import create_app
from config import ConfigError, load_settings
from tests.cluster import LocalCluster
from tests.support import (
    API_KEY,
    API_SECRET,
    IN_MEMORY,
    LANDLINE,
    MOBILE,
    ROOT,
    LiveServer,
    code_in,
    free_port,
    make_env,
    redis_server,
    start_redis,
    verify_client,
)
from verify.store.persistence import judge

NO_TWILIO = "http://127.0.0.1:9"  # nothing is sent in these tests but one, which has the stand-in
SNAPSHOTS = ("--appendonly", "no", "--save", "3600 1")
NO_CONFIG = ("--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--rename-command", "CONFIG", "")


@pytest.fixture
def redis_with(tmp_path):
    """Start a redis-server of this test's own persisting as given: its URL."""
    processes = []

    def start(persistence, unix_socket=False):
        folder = tmp_path / f"redis-{len(processes)}"
        folder.mkdir()
        process, url = start_redis(str(folder), unix_socket=unix_socket, persistence=persistence)
        processes.append(process)
        return url

    yield start
    for process in processes:
        process.kill()
        process.wait(10)


def start_app(url: str, caplog, **settings):
    caplog.clear()
    with caplog.at_level(logging.INFO, "telverify.persistence"):
        return create_app(make_env(url, NO_TWILIO, "http://localhost", **settings))


def warnings_of(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "telverify.persistence" and record.levelno >= logging.WARNING]


def test_redis_without_persistence_is_a_loud_warning_naming_what_to_set(redis_with, caplog):
    url = redis_with(IN_MEMORY)
    start_app(url, caplog)
    [warning] = warnings_of(caplog)
    assert "keeps nothing on disk" in warning and "a restart loses everything" in warning
    assert "`appendonly yes` and `appendfsync everysec`" in warning and "Redis persistence" in warning


def test_snapshots_only_are_a_warning_about_what_they_lose(redis_with, caplog):
    start_app(redis_with(SNAPSHOTS), caplog)
    [warning] = warnings_of(caplog)
    assert 'RDB snapshots only (save "3600 1", appendonly no)' in warning and "since the last snapshot" in warning


@pytest.mark.parametrize("unix_socket", [False, True])
def test_an_append_only_file_written_every_second_passes_quietly(redis_with, caplog, unix_socket):
    url = redis_with(("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""), unix_socket)
    start_app(url, caplog, REQUIRE_REDIS_PERSISTENCE="1")
    assert warnings_of(caplog) == []
    assert "keeps an append-only file (appendfsync everysec)" in caplog.text


def test_judgement_of_each_configuration():
    assert judge("n", {"appendonly": "yes", "appendfsync": "always", "save": ""}).durable is True
    assert judge("n", {"appendonly": "yes", "appendfsync": "everysec", "save": "3600 1"}).durable is True
    assert judge("n", {"appendonly": "yes", "appendfsync": "no", "save": ""}).durable is False
    assert judge("n", {b"appendonly": b"no", b"save": b"60 10"}).durable is False
    assert judge("n", {"appendonly": "no", "save": ""}).durable is False
    assert judge("n", {"save": ""}).durable is None  # a provider that hides appendonly


def test_required_persistence_refuses_to_start_on_a_redis_without_an_append_only_file(redis_with, caplog):
    for persistence in (IN_MEMORY, SNAPSHOTS):
        with pytest.raises(ConfigError) as refused:
            start_app(redis_with(persistence), caplog, REQUIRE_REDIS_PERSISTENCE="1")
        message = str(refused.value)
        assert message.startswith("telverify cannot start:") and "REQUIRE_REDIS_PERSISTENCE=1, but" in message
        assert "`appendonly yes` and `appendfsync everysec`" in message
    # A confirmation does not outweigh what Redis itself says.
    with pytest.raises(ConfigError, match="keeps nothing on disk"):
        start_app(redis_with(IN_MEMORY), caplog, REQUIRE_REDIS_PERSISTENCE="1", REDIS_PERSISTENCE_CONFIRMED="1")


def test_required_persistence_stops_gunicorn_with_ex_config(redis_with):
    env = {**os.environ, **make_env(redis_with(IN_MEMORY), NO_TWILIO, "http://127.0.0.1:1"),
           "REQUIRE_REDIS_PERSISTENCE": "1", "PORT": str(free_port()), "BIND_HOST": "127.0.0.1",
           "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4", "GUNICORN_PIN_WORKERS": "0"}
    command = (ROOT / "Procfile").read_text().split("web:", 1)[1].split()
    result = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=90)
    assert result.returncode == 4, result.stderr  # gunicorn's "App failed to load": its master stops
    assert "REQUIRE_REDIS_PERSISTENCE=1, but Redis at" in result.stderr and "App failed to load" in result.stderr
    assert "Traceback" not in result.stderr


# A managed Redis that refuses CONFIG: renamed away, or not granted to telverify's user.
NOPERM = ("--appendonly", "yes", "--save", "", "--user", "default", "off", "--user", "app", "on", ">app-password-0123",
          "~*", "&*", "+@all", "-config")


@pytest.mark.parametrize("refusal", ["renamed", "noperm"])
def test_a_redis_refusing_config_could_not_be_checked(tmp_path, caplog, refusal):
    port = free_port()
    credentials = "app:app-password-0123@" if refusal == "noperm" else ""
    url = f"redis://{credentials}127.0.0.1:{port}/0"
    process = redis_server(str(tmp_path), ["--port", str(port), "--bind", "127.0.0.1"], url,
                           NO_CONFIG if refusal == "renamed" else NOPERM)
    try:
        start_app(url, caplog)
        [warning] = warnings_of(caplog)
        assert "refused CONFIG GET" in warning and "could not be checked" in warning
        assert "REDIS_PERSISTENCE_CONFIRMED=1" in warning
        with pytest.raises(ConfigError, match="could not be checked"):
            start_app(url, caplog, REQUIRE_REDIS_PERSISTENCE="1")
        start_app(url, caplog, REQUIRE_REDIS_PERSISTENCE="1", REDIS_PERSISTENCE_CONFIRMED="1")
        assert warnings_of(caplog) == [] and "REDIS_PERSISTENCE_CONFIRMED=1 says" in caplog.text
    finally:
        process.kill()
        process.wait(10)


def test_a_redis_unreachable_at_start_is_logged_and_start_goes_on(caplog):
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = start_app(url, caplog)
    assert app is not None
    [warning] = warnings_of(caplog)
    assert "unreachable at start (ConnectionError)" in warning and "checked at start only" in warning
    with pytest.raises(ConfigError, match="start telverify once Redis answers"):
        start_app(url, caplog, REQUIRE_REDIS_PERSISTENCE="1")
    start_app(url, caplog, REQUIRE_REDIS_PERSISTENCE="1", REDIS_PERSISTENCE_CONFIRMED="1")


def test_every_primary_of_a_cluster_is_asked(caplog):
    with LocalCluster("cluster-user", "cluster-password-0123") as cluster:
        start_app(cluster.url, caplog, REQUIRE_REDIS_PERSISTENCE="1")
        assert warnings_of(caplog) == [] and caplog.text.count("keeps an append-only file") == 3
        cluster.nodes[1].config_set("appendonly", "no")
        with pytest.raises(ConfigError, match=f"Redis at 127.0.0.1:{cluster.ports[1]} keeps nothing on disk"):
            start_app(cluster.url, caplog, REQUIRE_REDIS_PERSISTENCE="1")
        [warning] = warnings_of(caplog)
        assert str(cluster.ports[0]) not in warning and str(cluster.ports[2]) not in warning


@pytest.mark.parametrize(("name", "value"), [("REQUIRE_REDIS_PERSISTENCE", "yes"),
                                             ("REDIS_PERSISTENCE_CONFIRMED", "true")])
def test_the_settings_are_one_or_zero(name, value):
    env = make_env("redis://127.0.0.1:6379/0", NO_TWILIO, "https://verify.example.com")
    with pytest.raises(ConfigError, match=f"{name} must be 1 .* or 0"):
        load_settings({**env, name: value})
    settings = load_settings(env)
    assert not settings.require_redis_persistence and not settings.redis_persistence_confirmed


def test_a_pending_verification_and_a_persons_methods_survive_redis_killed_and_restarted(tmp_path, standin):
    """appendfsync always: Redis writes each change to the file and fsyncs it before it answers,
    so a SIGKILL right after an answer loses nothing, and the test waits on no clock. With
    everysec, as production runs, the last second before a crash may be lost."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    always = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")
    listen = ["--port", str(port), "--bind", "127.0.0.1"]
    process = redis_server(str(tmp_path), listen, url, always)
    try:
        with LiveServer(lambda base: make_env(url, standin.base_url, base)) as live:
            sdk = verify_client(live.url)
            service = sdk.verify.v2.services.create(friendly_name="Acme")
            # A person's methods: an authenticator app (verified, the default) and an office phone.
            person = sdk.verify.v2.services(service.sid).entities("person-0001-restart")
            app = person.new_factors.create(friendly_name="Authenticator", factor_type="totp")
            totp = pyotp.TOTP(app.binding["secret"])
            assert person.factors(app.sid).update(auth_payload=totp.now()).status == "verified"
            office = requests.post(f"{live.url}/v2/Services/{service.sid}/Entities/person-0001-restart/Factors",
                                   auth=(API_KEY, API_SECRET), timeout=10, data={
                                       "FactorType": "phone", "FriendlyName": "Office phone", "Config.Kind": "office",
                                       "Binding.PhoneNumber": LANDLINE + "x123"}).json()
            started = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
            message = standin.wait_for_message(MOBILE, timeout=10)
            code = code_in(message)
            standin.wait_for_callbacks(message["sid"], 2, timeout=10)  # sent, delivered: none meets a dead Redis
            process.kill()  # SIGKILL: no chance to write anything more
            process.wait(10)
            process = redis_server(str(tmp_path), listen, url, always)
            assert sdk.verify.v2.services(service.sid).fetch().friendly_name == "Acme"
            fetched = sdk.verify.v2.services(service.sid).verifications(started.sid).fetch()
            assert fetched.status == "pending" and fetched.to == MOBILE
            checked = sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code=code)
            assert checked.status == "approved" and checked.sid == started.sid
            assert [(f.sid, f.status) for f in person.factors.list()] == [(app.sid, "verified"),
                                                                        (office["sid"], "unverified")]
            # The next time step's code (within the skew): above the one that verified the factor.
            next_code = totp.at(time.time() + totp.interval)
            assert person.challenges.create(factor_sid=app.sid, auth_payload=next_code).status == "approved"
            assert person.fetch().sid.startswith("YE")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
