"""Entra External MFA's signing keys as an operator handles them: /admin/Eam/Keys (listed, rolled
over, audited, an admin's alone) over real HTTP with a frozen clock, and `python -m verify.eam.keys
list` and `rollover` run as commands against the test Redis."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import redis
import requests
from freezegun import freeze_time
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support import ADMIN_KEY, ADMIN_SECRET, API_KEY, API_SECRET, ROOT, LiveServer, make_env
from verify.core import Core
from verify.eam.keys import generate
from verify.store import keys

ADMIN = (ADMIN_KEY, ADMIN_SECRET)
CLIENT_ID = "c0ffee00-0000-4000-8000-00000000c11d"
TENANT = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
SERVICE = "VA" + "ab" * 16
T0 = datetime(2030, 1, 7, 10, 0, 0, tzinfo=timezone.utc)
HOURS = 48
DEAD = "http://127.0.0.1:9"  # Twilio and Microsoft: nothing here reaches either


def eam_env(redis_url: str, url: str, **overrides) -> dict:
    settings = {"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}={SERVICE}",
                "EAM_MICROSOFT_DISCOVERY_URL": f"{DEAD}/common/v2.0/.well-known/openid-configuration",
                "EAM_KEY_ROLLOVER_HOURS": str(HOURS), **overrides}
    return make_env(redis_url, DEAD, url, **settings)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module", autouse=True)
def real_datetime_first():
    """A certificate made before any clock is frozen: cryptography keeps the datetime class it
    meets first, and one made under freezegun would refuse real datetimes for the rest of the run."""
    generate("before the frozen clock")


@pytest.fixture
def clock():
    with freeze_time(T0) as frozen:
        yield frozen


@pytest.fixture
def server(redis_url, clock):
    with LiveServer(lambda url: eam_env(redis_url, url)) as live:
        yield live


def admin(server, method: str, path: str, auth=ADMIN, **kwargs) -> requests.Response:
    return requests.request(method, f"{server.url}/admin/{path}", auth=auth, timeout=15, **kwargs)


def published(server) -> list[str]:
    return [key["kid"] for key in requests.get(f"{server.url}/eam/jwks", timeout=15).json()["keys"]]


def signed_by(server) -> str:
    """The kid of the id_tokens telverify signs now, checked against its own JWKS."""
    token = Core.of(server.app).eam.keys.sign({"sub": "x"}, datetime.now(timezone.utc).timestamp())
    jwks = requests.get(f"{server.url}/eam/jwks", timeout=15).json()
    return jwt.decode(token, KeySet.import_key_set(jwks)).header["kid"]


def test_a_rollover_through_the_admin_api(server, clock, redis_url):
    listed = admin(server, "GET", "Eam/Keys")
    assert listed.status_code == 200, listed.text
    (first,) = listed.json()["keys"]
    assert first == {"kid": first["kid"], "date_created": iso(T0), "active_from": iso(T0), "retire_at": None,
                     "signing": True}
    assert listed.json()["url"] == f"{server.url}/admin/Eam/Keys"
    sealed = redis.Redis.from_url(redis_url, decode_responses=True).hget(keys.EAM_SIGNING_KEYS, f"{first['kid']}:k")
    assert sealed and sealed not in listed.text and "PRIVATE" not in listed.text

    clock.tick(60)
    rolled = admin(server, "POST", "Eam/Keys/Rollover")
    assert rolled.status_code == 201, rolled.text
    old, new = rolled.json()["keys"]
    moment = T0 + timedelta(seconds=60)
    assert old == {**first, "retire_at": iso(moment + timedelta(hours=2 * HOURS))}
    assert new == {"kid": new["kid"], "date_created": iso(moment), "active_from": iso(moment + timedelta(hours=HOURS)),
                   "retire_at": None, "signing": False}
    for answer in (listed, rolled):  # public facts only: no key material, sealed or not
        assert all(set(key) == {"kid", "date_created", "active_from", "retire_at", "signing"}
                   for key in answer.json()["keys"])
    assert published(server) == [first["kid"], new["kid"]]  # both published at once
    assert signed_by(server) == first["kid"]  # the old one still signs

    clock.tick(1)
    refused = admin(server, "POST", "Eam/Keys/Rollover")
    assert refused.status_code == 409 and refused.json()["code"] == 20409, refused.text
    assert new["kid"] in refused.json()["message"] and published(server) == [first["kid"], new["kid"]]
    assert admin(server, "POST", "Eam/Keys/Rollover", data={"Force": "true"}).json()["code"] == 60200

    clock.tick(HOURS * 3600)  # past the delay: the new key signs, the old one is still published
    assert signed_by(server) == new["kid"]
    assert [(k["kid"], k["signing"]) for k in admin(server, "GET", "Eam/Keys").json()["keys"]] == [
        (first["kid"], False), (new["kid"], True)]
    clock.tick(HOURS * 3600)  # past the old key's retirement
    assert published(server) == [new["kid"]]
    assert [k["kid"] for k in admin(server, "GET", "Eam/Keys").json()["keys"]] == [new["kid"]]

    entries = admin(server, "GET", "AuditLog").json()["entries"]
    assert sorted((e["action"], e["status_code"]) for e in entries) == sorted([
        ("eam.keys.list", 200), ("eam.keys.rollover", 201), ("eam.keys.rollover", 409),
        ("eam.keys.rollover", 400), ("eam.keys.list", 200), ("eam.keys.list", 200)])
    assert {e["admin_id"] for e in entries} == {ADMIN_KEY}
    assert all(e["account_sid"] is None and e["service_sid"] is None for e in entries)


@pytest.mark.parametrize("method, path", [("GET", "Eam/Keys"), ("POST", "Eam/Keys/Rollover")])
def test_an_application_credential_is_refused(server, method, path):
    before = published(server)
    answer = admin(server, method, path, auth=(API_KEY, API_SECRET))
    assert answer.status_code == 401 and answer.json()["code"] == 20003, answer.text
    assert published(server) == before
    assert admin(server, "GET", "AuditLog").json()["entries"] == []  # refused before any action is noted


def test_with_eam_off_the_keys_are_404(live):
    assert admin(live, "GET", "Eam/Keys").json()["code"] == 20404
    assert admin(live, "POST", "Eam/Keys/Rollover").status_code == 404


# -- the command ------------------------------------------------------------------------------------

def command(redis_url: str, *argv: str, **overrides) -> subprocess.CompletedProcess:
    env = {**os.environ, **eam_env(redis_url, "http://127.0.0.1:8000", **overrides)}
    return subprocess.run([sys.executable, "-m", "verify.eam.keys", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_command_lists_and_rolls_over(redis_url):
    listed = command(redis_url, "list")
    assert listed.returncode == 0, listed.stderr
    ((first, made, signs_from, dropped),) = [line.split() for line in listed.stdout.splitlines()]
    assert made == signs_from and dropped == "-"

    rolled = command(redis_url, "rollover")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.startswith("published key ") and "it signs from" in rolled.stdout
    second = rolled.stdout.split()[2].rstrip(";")
    again = command(redis_url, "rollover")
    assert again.returncode == 1 and f"key {second} is published" in again.stdout, again.stdout

    lines = [line.split() for line in command(redis_url, "list").stdout.splitlines()]
    assert [line[0] for line in lines] == [first, second]
    (_, _, _, retires), (_, second_made, second_signs, second_dropped) = lines
    made_at = datetime.fromisoformat(second_made)
    assert datetime.fromisoformat(second_signs) - made_at == timedelta(hours=HOURS)
    assert datetime.fromisoformat(retires) - made_at == timedelta(hours=2 * HOURS) and second_dropped == "-"
    stored = redis.Redis.from_url(redis_url, decode_responses=True).hgetall(keys.EAM_SIGNING_KEYS)
    assert {name.rpartition(":")[0] for name in stored} == {first, second}


def test_the_command_refuses_what_it_cannot_do(redis_url):
    assert command(redis_url, "rotate").returncode == 64
    off = command(redis_url, "list", EAM_CLIENT_ID=None, EAM_TENANTS=None)
    assert off.returncode == 78 and "Entra External MFA is off" in off.stderr


def test_a_key_sealed_under_the_previous_secret_is_sealed_again_under_the_current_one(redis_url):
    """SECRET_KEY rotated: the keys sealed under the previous secret still sign, and the first
    process to open them seals them again under the new one, so that a process without
    SECRET_KEY_PREVIOUS then signs with the same key, Entra's cached JWKS still right."""
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    old, new = "o" * 40, "n" * 40
    with LiveServer(lambda url: eam_env(redis_url, url, SECRET_KEY=old)) as before:
        (kid,) = published(before)
        assert signed_by(before) == kid
    sealed_before = store.hget(keys.EAM_SIGNING_KEYS, f"{kid}:k")
    with LiveServer(lambda url: eam_env(redis_url, url, SECRET_KEY=new, SECRET_KEY_PREVIOUS=old)) as rotating:
        assert published(rotating) == [kid] and signed_by(rotating) == kid
    sealed_after = store.hget(keys.EAM_SIGNING_KEYS, f"{kid}:k")
    assert sealed_after != sealed_before and sealed_after[:8] != sealed_before[:8]  # another key's id
    with LiveServer(lambda url: eam_env(redis_url, url, SECRET_KEY=new)) as after:
        assert published(after) == [kid] and signed_by(after) == kid
    assert store.hget(keys.EAM_SIGNING_KEYS, f"{kid}:k") == sealed_after  # opened, not sealed again
