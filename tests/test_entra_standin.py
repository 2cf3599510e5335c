"""The Entra stand-in on its own: "Microsoft's" discovery and keys, the hints it mints (and the
spoiled ones), its sign-in start page, and its checks of a provider's answer, against a small
provider written here (discovery, JWKS and id_tokens signed with joserfc) whose every part a
test can spoil."""
from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from cryptography import x509
from flask import Flask, Response, jsonify
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

from entra_standin import KINDS, OTHER_TENANT, EntraStandIn, User
from entra_standin.hints import unverified_claims
from entra_standin.keys import SigningKey
from tests.support import ROOT, free_port

CLIENT_ID = "c0ffee00-0000-4000-8000-00000000c11d"
TID, OID = User().tid, User().oid


class Provider:
    """A provider's discovery, JWKS and answers; `spoil` changes one part of what it serves."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key, self.other = SigningKey("provider"), SigningKey("other")
        self.spoil: dict = {}
        app = Flask("provider")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            document = {"issuer": self.spoil.get("issuer", self.url), "authorization_endpoint": f"{self.url}/authorize",
                        "jwks_uri": f"{self.url}/jwks", "scopes_supported": ["openid"],
                        "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"]}
            if self.spoil.get("streamed"):  # a generator: werkzeug sends no Content-Length
                return Response((part for part in [json.dumps(document)]), mimetype="application/json")
            return jsonify(document)

        @app.get("/jwks")
        def jwks():
            jwk = self.key.jwk(self.url)
            if self.spoil.get("no_x5c"):
                del jwk["x5c"]
            if self.spoil.get("other_x5c"):
                jwk["x5c"] = [self.other.certificate]
            return jsonify({"keys": [jwk]})

        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, expected, key: SigningKey | None = None, **changes) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": CLIENT_ID, "sub": expected.sub, "nonce": expected.nonce, "iat": now,
                  "exp": now + 300, "acr": "possessionorinherence", "amr": ["tel"], **changes}
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, (key or self.key).key)


@pytest.fixture(scope="module")
def provider():
    provider = Provider()
    yield provider
    provider.server.shutdown()


@pytest.fixture(scope="module")
def entra(provider):
    with EntraStandIn(CLIENT_ID, f"{provider.url}/.well-known/openid-configuration") as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(request):
    if "provider" in request.fixturenames:
        request.getfixturevalue("provider").spoil = {}
    if "entra" in request.fixturenames:
        request.getfixturevalue("entra").clear()


def answer(entra, fields: dict, **form) -> dict:
    """The provider's form_post to the stand-in's redirect_uri; the outcome it recorded."""
    page = requests.post(entra.redirect_uri, data={"state": fields["state"], **form}, timeout=10)
    assert page.status_code == 200
    result = entra.wait_for_result(fields["state"])
    assert result["outcome"] in page.text or result["reason"] in page.text or "Signed in" in page.text
    return result


def sign_in(entra):
    endpoint, fields = entra.authorize()
    return fields, entra.signins.ledger._open[fields["state"]].expected


# -- "Microsoft's" discovery, keys and hints -------------------------------------------------------
def test_discovery_is_microsofts_common_shape(entra):
    for path in ("/common/v2.0/.well-known/openid-configuration", f"/{TID}/v2.0/.well-known/openid-configuration"):
        answer = requests.get(entra.base_url + path, timeout=5)
        assert answer.status_code == 200 and "Content-Length" in answer.headers
        document = answer.json()
        assert document["jwks_uri"] == f"{entra.base_url}/common/discovery/v2.0/keys"
        assert "RS256" in document["id_token_signing_alg_values_supported"]
    common = requests.get(entra.discovery_url, timeout=5).json()
    assert common["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0"
    assert requests.get(entra.base_url + f"/{TID}/v2.0/.well-known/openid-configuration",
                        timeout=5).json()["issuer"] == f"https://login.microsoftonline.com/{TID}/v2.0"


def test_keys_carry_their_certificate(entra):
    [jwk] = requests.get(f"{entra.base_url}/common/discovery/v2.0/keys", timeout=5).json()["keys"]
    certificate = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
    assert certificate.public_key().public_numbers() == RSAKey.import_key(jwk).public_key.public_numbers()
    assert jwk["kid"] == jwk["x5t"] and base64.urlsafe_b64decode(jwk["kid"] + "=")


def jwks(entra) -> KeySet:
    return KeySet.import_key_set(requests.get(f"{entra.base_url}/common/discovery/v2.0/keys", timeout=5).json())


def test_a_valid_hint_is_entras_shape_and_verifies(entra):
    hint = entra.hint("valid", name="Ana", username="ana@contoso.example")
    token = jwt.decode(hint, jwks(entra), algorithms=["RS256"])
    claims = token.claims
    assert token.header["kid"] == jwks(entra).keys[0].kid
    assert claims["iss"] == f"https://login.microsoftonline.com/{TID}/v2.0" and claims["aud"] == CLIENT_ID
    assert (claims["tid"], claims["oid"], claims["name"], claims["preferred_username"]) == (
        TID, OID, "Ana", "ana@contoso.example")
    assert claims["exp"] < claims["iat"] <= time.time()  # issued already expired
    assert claims["sub"] == unverified_claims(entra.hint())["sub"]  # pairwise: stable for the person
    assert claims["sub"] not in (OID, TID) and entra.signins.hints.sub(TID, "someone-else") != claims["sub"]


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "valid"])
def test_each_spoiled_hint_fails_a_check_a_provider_makes(entra, kind):
    hint = entra.hint(kind)
    try:
        claims = jwt.decode(hint, jwks(entra), algorithms=["RS256"]).claims
    except (JoseError, ValueError):
        assert kind in ("forged", "tampered", "alg_none", "hs256")
        return
    if kind == "wrong_audience":
        assert claims["aud"] != CLIENT_ID
    elif kind == "wrong_issuer":
        assert claims["iss"] != f"https://login.microsoftonline.com/{claims['tid']}/v2.0"
    else:
        assert kind == "not_allowed_tenant" and claims["tid"] == OTHER_TENANT
        assert claims["iss"] == f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"


# -- the sign-in start page -------------------------------------------------------------------------
def test_the_signin_page_posts_the_authorize_request(entra, provider):
    page = requests.get(entra.signin_url(), timeout=10)
    assert page.status_code == 200
    assert f'action="{provider.url}/authorize"' in page.text and 'method="post"' in page.text
    assert '<button type="submit">Continue</button>' in page.text and ".submit()" in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    assert set(fields) == {"scope", "response_type", "response_mode", "client_id", "redirect_uri", "nonce",
                           "state", "id_token_hint", "claims", "client-request-id"}
    assert (fields["scope"], fields["response_type"], fields["response_mode"]) == ("openid", "id_token", "form_post")
    assert fields["redirect_uri"] == entra.redirect_uri and fields["client_id"] == CLIENT_ID
    claims = json.loads(fields["claims"].replace("&#34;", '"'))
    assert claims["id_token"]["acr"] == {"essential": True, "values": ["possessionorinherence"]}
    assert {"sms", "tel", "otp"} <= set(claims["id_token"]["amr"]["values"])
    assert unverified_claims(fields["id_token_hint"])["oid"] == OID


def test_the_index_lists_the_test_user(entra):
    page = requests.get(entra.base_url + "/", timeout=5).text
    assert OID in page and TID in page and CLIENT_ID in page and entra.redirect_uri in page


def test_a_provider_that_does_not_answer_is_said(provider):
    with EntraStandIn(CLIENT_ID, f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration") as entra:
        page = requests.get(entra.signin_url(), timeout=10)
    assert page.status_code == 502 and "did not answer" in page.text


# -- the provider's answer --------------------------------------------------------------------------
def test_a_right_answer_signs_in(entra, provider):
    fields, expected = sign_in(entra)
    result = answer(entra, fields, id_token=provider.token(expected))
    assert (result["outcome"], result["amr"], result["acr"]) == ("signed_in", "tel", "possessionorinherence")
    assert requests.get(f"{entra.base_url}/_standin/results", timeout=5).json()[0]["amr"] == "tel"
    again = answer(entra, fields, id_token=provider.token(expected))  # a state is answered once
    assert again["outcome"] == "refused" and "already answered" in again["reason"]


def test_an_error_is_recorded(entra):
    fields, _ = sign_in(entra)
    result = answer(entra, fields, error="access_denied", error_description="The person refused")
    assert (result["outcome"], result["error"], result["oid"]) == ("error", "access_denied", OID)


@pytest.mark.parametrize("changes,reason", [
    ({"nonce": "another"}, "nonce"), ({"sub": "another"}, "sub"), ({"aud": "another"}, "aud"),
    ({"iss": "http://elsewhere"}, "iss"), ({"acr": "knowledge"}, "acr"), ({"acr": None}, "acr"),
    ({"amr": ["sms", "tel"]}, "amr"), ({"amr": "tel"}, "amr"), ({"amr": ["password"]}, "amr"),
    ({"exp": int(time.time()) - 600}, "exp"), ({"exp": int(time.time()) + 86400}, "exp"),
    ({"iat": int(time.time()) + 3600}, "iat"), ({"nonce": None}, "nonce"),
])
def test_a_wrong_claim_is_refused(entra, provider, changes, reason):
    fields, expected = sign_in(entra)
    result = answer(entra, fields, id_token=provider.token(expected, **changes))
    assert result["outcome"] == "refused" and reason in result["reason"], result


@pytest.mark.parametrize("spoil,reason", [
    ({"streamed": True}, "Content-Length"), ({"issuer": "http://127.0.0.2:1"}, "host"),
    ({"issuer": "QUERY"}, "query"), ({"no_x5c": True}, "x5c"), ({"other_x5c": True}, "another key"),
])
def test_a_wrong_discovery_or_key_is_refused(entra, provider, spoil, reason):
    fields, expected = sign_in(entra)
    provider.spoil = {k: (f"{provider.url}?x=1" if v == "QUERY" else v) for k, v in spoil.items()}
    result = answer(entra, fields, id_token=provider.token(expected))
    assert result["outcome"] == "refused" and reason in result["reason"], result


def test_a_token_signed_by_another_key_is_refused(entra, provider):
    fields, expected = sign_in(entra)
    result = answer(entra, fields, id_token=provider.token(expected, key=provider.other))
    assert result["outcome"] == "refused" and "signature" in result["reason"]


@pytest.mark.parametrize("token", ["garbage", "e30.e30.", "eyJhbGciOiJub25lIn0.e30."])
def test_a_token_that_is_not_rs256_is_refused(entra, token):
    fields, _ = sign_in(entra)
    result = answer(entra, fields, id_token=token)
    assert result["outcome"] == "refused", result


def test_an_unknown_state_or_an_empty_answer_is_refused(entra):
    result = answer(entra, {"state": "nobody-asked"}, error="access_denied")
    assert result["outcome"] == "refused" and "no sign-in" in result["reason"]
    fields, _ = sign_in(entra)
    assert "neither" in answer(entra, fields)["reason"]


# -- as ./dev run starts it -------------------------------------------------------------------------
def test_the_process_serves_its_page_and_stops_on_sigterm(provider):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "entra_standin", "--port", str(port), "--quiet", "--client-id", CLIENT_ID,
         "--tenant", TID, "--oid", OID, "--provider-discovery-url", f"{provider.url}/.well-known/openid-configuration"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout.readline().strip() == (f"entra_standin listening on http://127.0.0.1:{port}; "
                                                     f"sign-in page at http://127.0.0.1:{port}/")
        health = requests.get(f"http://127.0.0.1:{port}/_standin/health", timeout=5).json()
        assert health == {"status": "ok", "pid": process.pid}
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert OID in page and f"http://127.0.0.1:{port}/common/federation/externalauthprovider" in page
        signin = requests.get(f"http://127.0.0.1:{port}/signin", timeout=5).text
        assert f'action="{provider.url}/authorize"' in signin
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()
        process.wait()
