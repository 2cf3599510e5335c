"""telverify as an Entra External MFA provider, its protocol side: the discovery document and the
JWKS, the signing key made once and rolled over, and authorize requests refused as they must be
(hints Entra did not sign for us, now; requests with nowhere to answer). A small Microsoft of the
tests' own serves discovery and keys over HTTP and signs the hints (`FakeMicrosoft`)."""
from __future__ import annotations

import base64
import html
import json
import threading
import time
from html.parser import HTMLParser

import pytest
import redis
import requests
from cryptography import x509
from flask import Flask, jsonify
from freezegun import freeze_time
from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

from app import create_app
from config import ConfigError, load_settings
from tests.support import LiveServer, free_port, make_env
from verify.core import Core
from verify.store import keys

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0a1b2c3d-1111-2222-3333-444455556666"
CLIENT_ID = "00001111-aaaa-2222-bbbb-3333cccc4444"
OID = "8d2a3a1e-5b6c-4d7e-8f90-a1b2c3d4e5f6"  # the person's Entra object id: their Entity's identity
SUB = "pairwise-subject-AAbbCC"
REDIRECT = "http://127.0.0.1:9/common/federation/externalauthprovider"  # the tests' Entra (never reached)
CLAIMS = json.dumps({"id_token": {"acr": {"essential": True, "values": ["possessionorinherence"]},
                                  "amr": {"essential": True, "values": ["face", "fido", "otp", "sms", "tel"]}}})


class FakeMicrosoft:
    """Microsoft's common v2.0 discovery and JWKS over HTTP, and hints signed with its key."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "ms-key-1"})
        self.failing = False
        self.requests = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.discovery_url = f"{self.url}/common/v2.0/.well-known/openid-configuration"
        app = Flask("fake_microsoft")

        @app.get("/common/v2.0/.well-known/openid-configuration")
        def discovery():
            self.requests += 1
            if self.failing:
                return "unavailable", 503
            return jsonify(issuer=f"{self.url}/{{tenantid}}/v2.0", jwks_uri=f"{self.url}/common/discovery/v2.0/keys")

        @app.get("/common/discovery/v2.0/keys")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def issuer(self, tid: str = TENANT) -> str:
        return f"{self.url}/{tid}/v2.0"

    def hint(self, key: RSAKey | None = None, header: dict | None = None, **claims) -> str:
        now = int(time.time())
        values = {"aud": CLIENT_ID, "iss": self.issuer(claims.get("tid", TENANT)), "iat": now, "nbf": now,
                  "exp": now - 60,  # Entra issues the hint already expired
                  "tid": TENANT, "oid": OID, "sub": SUB, "preferred_username": "ana@contoso.example",
                  "name": "Ana", **claims}
        return jwt.encode(header or {"alg": "RS256", "kid": "ms-key-1"}, values, key or self.key,
                          algorithms=["RS256"])


@pytest.fixture(scope="session")
def microsoft():
    fake = FakeMicrosoft()
    yield fake
    fake.server.shutdown()


def eam_env(redis_url, standin_url, url, service_sid, microsoft, **overrides):
    return make_env(redis_url, standin_url, url, EAM_CLIENT_ID=CLIENT_ID, EAM_TENANTS=f"{TENANT}={service_sid}",
                    EAM_MICROSOFT_DISCOVERY_URL=microsoft.discovery_url, EAM_EXTRA_REDIRECT_URIS=REDIRECT,
                    **overrides)


@pytest.fixture
def eam(redis_url, standin, service, microsoft):
    """telverify with EAM on over HTTP, its tenant's people in `service`."""
    microsoft.failing = False
    with LiveServer(lambda url: eam_env(redis_url, standin.base_url, url, service.sid, microsoft)) as server:
        yield server


class Page(HTMLParser):
    """A page's forms: [{"action", "id", "fields": {name: value}, "buttons": [(name, value, text)]}]."""

    def __init__(self, text: str):
        super().__init__()
        self.forms, self._button = [], None
        self.text = html.unescape(text)  # as the person reads it
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "id": attrs.get("id"), "fields": {}, "buttons": []})
        elif tag == "input" and self.forms and attrs.get("name") and attrs.get("type") == "hidden":
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and self.forms:
            self._button = [attrs.get("name"), attrs.get("value"), ""]
            self.forms[-1]["buttons"].append(self._button)

    def handle_data(self, data):
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self._button[2] = " ".join(self._button[2].split())
            self._button = None

    def answer(self) -> dict:
        """What the page posts to Entra (its form id=answer), with the form's action as `to`."""
        form = next(f for f in self.forms if f["id"] == "answer")
        return {"to": form["action"], **form["fields"]}


def authorize(eam, hint: str, **overrides) -> requests.Response:
    data = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT, "nonce": "nonce-0S6_WzA2Mj", "state": "state-from-entra",
            "id_token_hint": hint, "claims": CLAIMS, "client-request-id": "0000-1111", **overrides}
    return requests.post(f"{eam.url}/eam/authorize", data={k: v for k, v in data.items() if v is not None},
                         timeout=10, allow_redirects=False)


def posted_error(answer: requests.Response) -> dict:
    assert answer.status_code == 200, answer.text
    posted = Page(answer.text).answer()
    assert posted["to"] == REDIRECT and posted["state"] == "state-from-entra" and "id_token" not in posted
    return posted


# -- discovery and keys ----------------------------------------------------------------------------

def test_the_discovery_document(eam):
    answer = requests.get(f"{eam.url}/.well-known/openid-configuration", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    assert answer.json() == {
        "issuer": eam.url,
        "authorization_endpoint": f"{eam.url}/eam/authorize",
        "jwks_uri": f"{eam.url}/eam/jwks",
        "scopes_supported": ["openid"],
        "response_types_supported": ["id_token"],
        "response_modes_supported": ["form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "acr", "amr"],
        "acr_values_supported": ["possessionorinherence"],
    }


def test_the_jwks_carries_certificates_of_its_keys_and_base64_kids(eam, redis_url):
    answer = requests.get(f"{eam.url}/eam/jwks", timeout=10)
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    (key,) = answer.json()["keys"]
    assert set(key) == {"kty", "use", "alg", "kid", "n", "e", "x5c"}  # nothing private
    assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    certificate = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    numbers = certificate.public_key().public_numbers()
    public = RSAKey.import_key(key).as_dict()
    assert numbers.n == int.from_bytes(base64.urlsafe_b64decode(public["n"] + "=="), "big")
    assert numbers.e == 65537 and numbers.n.bit_length() >= 2048
    assert base64.b64decode(key["kid"], validate=True) == base64.urlsafe_b64decode(key["kid"])
    # At rest the private key is sealed: no PEM in Redis.
    stored = redis.Redis.from_url(redis_url).hgetall(keys.EAM_SIGNING_KEYS)
    assert stored and not any(b"PRIVATE KEY" in value for value in stored.values())


def test_two_processes_starting_at_once_end_with_one_key(redis_url, standin, service, microsoft):
    cores = [Core.of(create_app(eam_env(redis_url, standin.base_url, "http://127.0.0.1:8000", service.sid,
                                        microsoft))).eam for _ in range(4)]
    barrier, found = threading.Barrier(len(cores)), []

    def first(eam):
        barrier.wait()
        found.append(eam.keys.jwks()["keys"][0]["kid"])

    threads = [threading.Thread(target=first, args=(eam,)) for eam in cores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1
    assert len(cores[0].store.signing_keys()) == 1


def test_a_rollover_publishes_at_once_signs_after_the_delay_and_drops_the_old_key(redis_url, standin, service,
                                                                                   microsoft):
    eam = Core.of(create_app(eam_env(redis_url, standin.base_url, "http://127.0.0.1:8000", service.sid,
                                     microsoft, EAM_KEY_ROLLOVER_HOURS="48"))).eam
    with freeze_time("2030-01-07 10:00:00") as clock:
        first = eam.keys.current(time.time()).kid
        outcome, second, signs_from = eam.keys.roll_over(time.time())
        assert outcome == "published" and signs_from == time.time() + 48 * 3600
        assert [k["kid"] for k in eam.keys.jwks()["keys"]] == [first, second]
        assert eam.keys.roll_over(time.time())[:2] == ("pending", second)  # one rollover at a time
        signed = eam.keys.sign({"sub": "x"}, time.time())
        assert jwt.decode(signed, KeySet.import_key_set(eam.keys.jwks())).header["kid"] == first
        clock.tick(48 * 3600 + 1)
        assert eam.keys.current(time.time()).kid == second
        assert [k["kid"] for k in eam.keys.jwks()["keys"]] == [first, second]  # the old one still published
        clock.tick(48 * 3600)
        assert [k["kid"] for k in eam.keys.jwks()["keys"]] == [second]
        assert eam.keys.roll_over(time.time())[0] == "published"  # and the next rollover may start
        assert first not in eam.store.signing_keys()


# -- authorize requests refused ---------------------------------------------------------------------

def _forged(microsoft, header: dict, claims: dict, signature: bytes = b"") -> str:
    """A token written by hand, as an attacker would: alg none, or HS256 keyed with the public key."""
    def part(value) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{part(header)}.{part(claims)}.{part(signature)}" if signature else f"{part(header)}.{part(claims)}."


def _claims_of(hint: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(hint.split(".")[1] + "=="))


def _hints(microsoft) -> dict:
    other = RSAKey.generate_key(2048, parameters={"kid": "ms-key-1"})
    good = microsoft.hint()
    head, body, signature = good.split(".")
    tampered_claims = {**_claims_of(good), "oid": "00000000-0000-0000-0000-000000000000"}
    tampered = f"{head}.{base64.urlsafe_b64encode(json.dumps(tampered_claims).encode()).rstrip(b'=').decode()}." \
               f"{signature}"
    import hashlib
    import hmac
    hs_header = {"alg": "HS256", "kid": "ms-key-1"}
    hs_body = _forged(microsoft, hs_header, _claims_of(good)).rstrip(".")
    hs_signature = hmac.new(json.dumps(microsoft.key.as_dict(private=False)).encode(), hs_body.encode(),
                            hashlib.sha256).digest()
    return {
        "signed by another key": microsoft.hint(key=other),
        "tampered payload": tampered,
        "another audience": microsoft.hint(aud="99999999-aaaa-2222-bbbb-3333cccc4444"),
        "another tenant's issuer": microsoft.hint(iss=microsoft.issuer(OTHER_TENANT)),
        "alg none": _forged(microsoft, {"alg": "none", "kid": "ms-key-1"}, _claims_of(good)),
        "alg HS256": _forged(microsoft, hs_header, _claims_of(good), hs_signature),
        "too old": microsoft.hint(iat=int(time.time()) - 11 * 60),
        "an unknown kid": microsoft.hint(header={"alg": "RS256", "kid": "not-published"}),
        "not a JWT": "not-a-token",
        "claims not JSON": jws.serialize_compact({"alg": "RS256", "kid": "ms-key-1"}, b"not json", microsoft.key),
        "claims not an object": jws.serialize_compact({"alg": "RS256", "kid": "ms-key-1"}, b'["tid"]',
                                                      microsoft.key),
    }


@pytest.mark.parametrize("why", ["signed by another key", "tampered payload", "another audience",
                                 "another tenant's issuer", "alg none", "alg HS256", "too old", "an unknown kid",
                                 "not a JWT", "claims not JSON", "claims not an object"])
def test_hints_entra_did_not_sign_for_us_now_are_refused(eam, microsoft, why):
    posted = posted_error(authorize(eam, _hints(microsoft)[why]))
    assert posted["error"] == "invalid_request", posted
    assert posted["error_description"].startswith("id_token_hint")
    if why.startswith("claims"):
        assert posted["error_description"] == "id_token_hint's claims are not JSON"


def test_a_tenant_not_served_is_refused(eam, microsoft):
    hint = microsoft.hint(tid=OTHER_TENANT)
    assert posted_error(authorize(eam, hint))["error"] == "access_denied"


def test_a_hint_opens_one_sign_in(eam, microsoft):
    hint = microsoft.hint()
    first = authorize(eam, hint)  # accepted: the person (who holds no method) is told, and Entra answered
    assert posted_error(first)["error"] == "access_denied" and "no sign-in method set up" in first.text
    replayed = posted_error(authorize(eam, hint))
    assert replayed == {"to": REDIRECT, "error": "invalid_request", "state": "state-from-entra",
                        "error_description": "id_token_hint has been used already"}


@pytest.mark.parametrize("overrides, error", [
    ({"response_type": "code"}, "unsupported_response_type"),
    ({"response_mode": "query"}, "invalid_request"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"nonce": None}, "invalid_request"),
    ({"id_token_hint": None}, "invalid_request"),
    ({"claims": "{not json"}, "invalid_request"),
    ({"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": ["knowledge"]}}})}, "access_denied"),
])
def test_malformed_requests_are_answered_with_their_oidc_error(eam, microsoft, overrides, error):
    assert posted_error(authorize(eam, microsoft.hint(), **overrides))["error"] == error


@pytest.mark.parametrize("overrides", [{"client_id": "99999999-aaaa-2222-bbbb-3333cccc4444"},
                                       {"client_id": None},
                                       {"redirect_uri": "https://attacker.example/callback"},
                                       {"redirect_uri": REDIRECT + "?x=1"},
                                       {"redirect_uri": None}])
def test_nowhere_to_answer_is_a_plain_page_never_a_redirect(eam, microsoft, overrides):
    answer = authorize(eam, microsoft.hint(), **overrides)
    assert answer.status_code == 400 and "Location" not in answer.headers
    page = Page(answer.text)
    assert page.forms == [] and "attacker" not in answer.text and "<script" not in answer.text
    assert "can't continue" in answer.text


def test_microsoft_unreachable_is_temporarily_unavailable(redis_url, standin, service, microsoft):
    microsoft.failing = True
    try:
        with LiveServer(lambda url: eam_env(redis_url, standin.base_url, url, service.sid, microsoft)) as server:
            assert posted_error(authorize(server, microsoft.hint()))["error"] == "temporarily_unavailable"
    finally:
        microsoft.failing = False


def test_a_get_authorize_is_read_as_a_post_is(eam, microsoft):
    answer = requests.get(f"{eam.url}/eam/authorize", params={"client_id": CLIENT_ID, "redirect_uri": REDIRECT,
                                                              "state": "state-from-entra", "response_type": "code"},
                          timeout=10, allow_redirects=False)
    assert posted_error(answer)["error"] == "unsupported_response_type"


def test_eam_is_off_unless_configured(live):
    for path in ("/.well-known/openid-configuration", "/eam/jwks", "/eam/authorize"):
        assert requests.get(f"{live.url}{path}", timeout=10).status_code == 404


# -- settings --------------------------------------------------------------------------------------

def _settings(**overrides):
    return load_settings(make_env("redis://127.0.0.1:6399/2", "http://127.0.0.1:9999", "https://verify.example.com",
                                  **overrides))


def test_eam_settings():
    assert _settings().eam is None
    settings = _settings(EAM_CLIENT_ID=CLIENT_ID.upper(), EAM_TENANTS=f" {TENANT.upper()}=VA{'ab' * 16} ").eam
    assert settings.client_id == CLIENT_ID and settings.tenants == {TENANT: "VA" + "ab" * 16}
    assert settings.microsoft_discovery_url.startswith("https://login.microsoftonline.com/common/v2.0/")
    assert settings.redirect_uris[0] == "https://login.microsoftonline.com/common/federation/externalauthprovider"
    assert len(settings.redirect_uris) == 3 and settings.key_rollover_seconds == 48 * 3600
    assert settings.signin_seconds == 300
    assert _settings(EAM_CLIENT_ID=CLIENT_ID, EAM_TENANTS=f"{TENANT}=VA{'ab' * 16}",
                     EAM_SIGNIN_SECONDS="30").eam.signin_seconds == 30


@pytest.mark.parametrize("overrides, named", [
    ({"EAM_CLIENT_ID": CLIENT_ID}, "EAM_CLIENT_ID and EAM_TENANTS go together"),
    ({"EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}"}, "EAM_CLIENT_ID and EAM_TENANTS go together"),
    ({"EAM_CLIENT_ID": "not-a-guid", "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}"}, "EAM_CLIENT_ID must be"),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}"}, "EAM_TENANTS: "),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16},{TENANT}=VA{'cd' * 16}"}, "given twice"),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}",
      "EAM_MICROSOFT_DISCOVERY_URL": "http://login.example.com/x"}, "EAM_MICROSOFT_DISCOVERY_URL must be"),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}",
      "EAM_EXTRA_REDIRECT_URIS": "ftp://x"}, "EAM_EXTRA_REDIRECT_URIS"),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}", "EAM_KEY_ROLLOVER_HOURS": "0"},
     "EAM_KEY_ROLLOVER_HOURS"),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}",
      "PUBLIC_BASE_URL": "https://verify.example.com/telverify"}, "bare origin"),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}", "EAM_SIGNIN_SECONDS": "29"},
     "EAM_SIGNIN_SECONDS must be a whole number from 30 to 300"),
    ({"EAM_CLIENT_ID": CLIENT_ID, "EAM_TENANTS": f"{TENANT}=VA{'ab' * 16}", "EAM_SIGNIN_SECONDS": "301"},
     "EAM_SIGNIN_SECONDS must be a whole number from 30 to 300"),
])
def test_eam_settings_refused(overrides, named):
    with pytest.raises(ConfigError) as refused:
        _settings(**overrides)
    assert named in str(refused.value)


def test_redis_down_is_temporarily_unavailable_never_an_approval(standin, microsoft):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with LiveServer(lambda url: eam_env(dead, standin.base_url, url, "VA" + "ab" * 16, microsoft)) as server:
        assert posted_error(authorize(server, microsoft.hint()))["error"] == "temporarily_unavailable"
        # A person's page posted while Redis is down goes back to Entra only with a `back` of ours.
        plain = requests.post(f"{server.url}/eam/signin", data={"signin": "x" * 43, "action": "check",
                                                                "back": "forged"}, timeout=10)
        assert plain.status_code == 503 and "<form" not in plain.text
        assert requests.get(f"{server.url}/eam/jwks", timeout=10).status_code == 503
