"""A person's methods under load: an application checking an authenticator app's code, as
Verify's TOTP challenges do (POST .../Entities/{Identity}/Challenges with FactorSid and
AuthPayload).

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
