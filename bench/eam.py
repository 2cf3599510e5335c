"""Entra External MFA under load: the authorize step (Entra's browser POSTing /eam/authorize with
a valid id_token_hint, telverify checking it against Microsoft's cached keys, opening a sign-in and
rendering the person's methods page), and a calling page polling its sign-in's status while the
person's press-# call rings.

Microsoft is never reachable: the Entra stand-in (entra_standin), run in the benchmark's process,
plays it, publishing "Microsoft's" discovery document and keys (telverify's
EAM_MICROSOFT_DISCOVERY_URL, fetched once per worker and then cached) and signing the hints. A
hint opens one sign-in and is at most 10 minutes old, so each run gets a file of fresh hints,
each distinct (its own `uti`), signed just before it and never sent twice; the people they name
have a verified authenticator app, so that each request renders the methods page. The polled
sign-ins are opened the same way for people with a verified mobile phone, each page then starting
its press-# call as a person's browser does.
"""
from __future__ import annotations

import html
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import requests
from services import BenchError

from config import MICROSOFT_REDIRECT_URIS
from entra_standin import EntraStandIn
from entra_standin.signins import claims_request

CLIENT_ID = "c0ffee00-0000-4000-8000-00000000be9c"
TENANT = "c0ffee00-0000-4000-8000-0000000be9c1"
PEOPLE = 200  # the hints name them in turn
HINTS = 20_000  # per run at the least: none may be sent twice
CALLING = 200  # sign-ins whose page polls while their press-# call rings
CALLING_BLOCK = "+447406"  # their phones' numbers (bench/run.py's blocks hold the others)


def microsoft(provider_discovery_url: str) -> EntraStandIn:
    """"Microsoft", in a thread of this process; stop() it when done."""
    return EntraStandIn(CLIENT_ID, provider_discovery_url).start()


def make_people(web_url: str, service: str, session_factory) -> list[str]:
    """The object ids of PEOPLE people of the tenant's service, each an entity (its Identity the
    oid) with a verified authenticator app, made through the API."""
    local = threading.local()

    def one(_: int) -> str:
        if not hasattr(local, "session"):
            local.session = session_factory()
        oid = str(uuid.uuid4())
        base = f"{web_url}/v2/Services/{service}/Entities/{oid}/Factors"
        created = local.session.post(base, data={"FactorType": "totp", "FriendlyName": "Authenticator"}, timeout=30)
        if created.status_code != 201:
            raise BenchError(f"setup factor for {oid} failed: {created.status_code} {created.text}")
        factor = created.json()
        code = pyotp.TOTP(factor["binding"]["secret"]).at(time.time())
        verified = local.session.post(f"{base}/{factor['sid']}", data={"AuthPayload": code}, timeout=30)
        if verified.status_code != 200 or verified.json().get("status") != "verified":
            raise BenchError(f"setup verifying {oid}'s factor failed: {verified.status_code} {verified.text}")
        return oid

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(PEOPLE)))


def authorize_form(entra: EntraStandIn, oid: str, index: int) -> str:
    """The form Entra's redirect POSTs, with a hint signed now for `oid`."""
    return urlencode({"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                      "client_id": CLIENT_ID, "redirect_uri": MICROSOFT_REDIRECT_URIS[0],
                      "nonce": f"bench-nonce-{index}", "state": f"bench-state-{index}",
                      "id_token_hint": entra.hint(tid=TENANT, oid=oid), "claims": claims_request(),
                      "client-request-id": str(uuid.uuid4())})


def write_authorizations(entra: EntraStandIn, people: list[str], folder: Path, count: int) -> Path:
    """`count` authorize requests for replay.lua, POSTed without credentials (the browser's)."""
    path = folder / "eam-authorize.txt"
    with path.open("w") as out:
        for index in range(count):
            out.write(f"/eam/authorize\t{authorize_form(entra, people[index % len(people)], index)}\t\tnone\n")
    return path


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    if found is None:
        raise BenchError(f"the sign-in page has no {name}: {page[:300]}")
    return html.unescape(found.group(1))


def open_calling_signins(web_url: str, entra: EntraStandIn, people: list[tuple[str, str]]) -> list[str]:
    """For each (oid, verified phone factor): a sign-in opened with a fresh hint, and its press-#
    call started from the methods page, as the person's browser posts it; the sign-ins' ids."""
    local = threading.local()

    def one(index: int) -> str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        oid, factor = people[index]
        methods = local.session.post(f"{web_url}/eam/authorize", data=authorize_form(entra, oid, -2 - index),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
        signin = _hidden(methods.text, "signin")
        calling = local.session.post(f"{web_url}/eam/signin", timeout=30, data={
            "signin": signin, "back": _hidden(methods.text, "back"), "action": "start",
            "method": f"{factor}:call_approve"})
        if calling.status_code != 200 or "Answer and press # to approve" not in calling.text:
            raise BenchError(f"setup: starting {oid}'s call failed: {calling.status_code} {calling.text[:300]}")
        return signin

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(len(people))))


def write_status_polls(signins: list[str], folder: Path) -> Path:
    """A calling page's poll of each sign-in, for replay.lua: POSTed without credentials."""
    path = folder / "eam-status.txt"
    with path.open("w") as out:
        for signin in signins:
            out.write(f"/eam/signin/status\tsignin={signin}\t\tnone\n")
    return path
