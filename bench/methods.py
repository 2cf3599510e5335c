"""A person's methods under load: an application checking an authenticator app's code, as
Verify's TOTP challenges do (POST .../Entities/{Identity}/Challenges with FactorSid and
AuthPayload), and a phone factor's approve call, whose # settles its challenge at once.

Setup makes FACTORS entities, each with one verified TOTP factor, through the API. A code is
accepted once per factor and time step (replay protection), so a file of requests, one per
factor with its current code, is written just before each run: in a run, each factor's first
challenge of a time step approves, and every later one repeats a code already used, which the
challenge refuses and leaves pending, doing the same work (the code found in the window, then
one script).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp
from services import BenchError, Stack

FACTORS = 2000


def make_factors(stack: Stack, service: str, session_factory) -> list[tuple[str, str, str]]:
    """(identity, factor sid, secret) of FACTORS verified TOTP factors, one per entity."""
    local = threading.local()

    def one(index: int) -> tuple[str, str, str]:
        if not hasattr(local, "session"):
            local.session = session_factory()
        identity = f"bench-person-{index:08d}"
        base = f"{stack.web_url}/v2/Services/{service}/Entities/{identity}/Factors"
        created = local.session.post(base, data={"FactorType": "totp", "FriendlyName": "Authenticator"}, timeout=30)
        if created.status_code != 201:
            raise BenchError(f"setup factor for {identity} failed: {created.status_code} {created.text}")
        factor = created.json()
        secret = factor["binding"]["secret"]
        code = pyotp.TOTP(secret).at(time.time())
        verified = local.session.post(f"{base}/{factor['sid']}", data={"AuthPayload": code}, timeout=30)
        if verified.status_code != 200 or verified.json().get("status") != "verified":
            raise BenchError(f"setup verifying {identity}'s factor failed: {verified.status_code} {verified.text}")
        return identity, factor["sid"], secret

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(FACTORS)))


def write_challenges(factors: list[tuple[str, str, str]], service: str, folder: Path) -> Path:
    """The challenge requests for replay.lua, each with its factor's code of this moment."""
    now = time.time()
    path = folder / "totp-challenges.txt"
    path.write_text("".join(
        f"/v2/Services/{service}/Entities/{identity}/Challenges\t"
        f"FactorSid={sid}&AuthPayload={pyotp.TOTP(secret).at(now)}\t\n" for identity, sid, secret in factors))
    return path


# -- phone factors' approve calls ---------------------------------------------------------------

PHONES = 2000  # people with a mobile phone factor whose challenge places an approve call


def make_phone_challenges(stack: Stack, service: str, session_factory, block: str, first: int,
                          count: int) -> list[tuple[str, str, str]]:
    """(identity, factor sid, challenge sid) of `count` people, each with a mobile phone factor
    (numbers `first`... of `block`) preferring `call_approve`, and a challenge on it: its call is
    placed through the stand-in. A start that finds every carrier slot busy (503 with
    Retry-After) is tried again."""
    local = threading.local()

    def one(index: int) -> tuple[str, str, str]:
        if not hasattr(local, "session"):
            local.session = session_factory()
        identity = f"bench-phone-{index:08d}"
        base = f"{stack.web_url}/v2/Services/{service}/Entities/{identity}"
        created = local.session.post(f"{base}/Factors", timeout=30, data={
            "FactorType": "phone", "FriendlyName": "Mobile phone", "Config.Kind": "mobile",
            "Config.Channel": "call_approve", "Binding.PhoneNumber": f"{block}{index:06d}"})
        if created.status_code != 201:
            raise BenchError(f"setup phone factor for {identity} failed: {created.status_code} {created.text}")
        factor = created.json()["sid"]
        for _ in range(50):
            challenge = local.session.post(f"{base}/Challenges", data={"FactorSid": factor}, timeout=30)
            if challenge.status_code != 503 or "Retry-After" not in challenge.headers:
                break
            time.sleep(0.2)
        if challenge.status_code != 201:
            raise BenchError(f"setup challenge for {identity} failed: {challenge.status_code} {challenge.text}")
        return identity, factor, challenge.json()["sid"]

    with ThreadPoolExecutor(32) as pool:
        return list(pool.map(one, range(first, first + count)))


def make_people(stack: Stack, service: str, session_factory, block: str, count: int) -> None:
    """`count` people as a sign-in page keeps them: each an entity with a verified authenticator
    app and a mobile phone (numbers 0... of `block`), its default the app."""
    local = threading.local()

    def one(index: int) -> None:
        if not hasattr(local, "session"):
            local.session = session_factory()
        identity = f"bench-memory-{index:08d}"
        base = f"{stack.web_url}/v2/Services/{service}/Entities/{identity}/Factors"
        created = local.session.post(base, data={"FactorType": "totp", "FriendlyName": "Authenticator"}, timeout=30)
        app = created.json()
        verified = local.session.post(f"{base}/{app['sid']}", timeout=30,
                                      data={"AuthPayload": pyotp.TOTP(app["binding"]["secret"]).at(time.time())})
        phone = local.session.post(base, timeout=30, data={
            "FactorType": "phone", "FriendlyName": "Mobile phone", "Config.Kind": "mobile",
            "Binding.PhoneNumber": f"{block}{index:06d}"})
        if (created.status_code, verified.status_code, phone.status_code) != (201, 200, 201):
            raise BenchError(f"setup person {identity} failed: {created.text} {verified.text} {phone.text}")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))

