"""GET /openapi.json, the OpenAPI description of telverify's HTTP API (docs/openapi.md).

- the committed description is what verify/api/openapi_build.py makes of Twilio's own
  description of Verify v2 (shared/twilio-oai) and our overlay: nobody edits it by hand;
- it describes every route the app serves, and no route the app does not serve;
- it is served without credentials, cacheable, with this deployment's URL as its server;
- schemathesis, reading it, sends every operation requests made from its schemas over real
  HTTP with valid credentials: no answer may be a server error, have a status the description
  does not list, or a body or content type that contradicts it. The examples are drawn the same
  on every run (`deterministic`), and bounded, so the run is repeatable and quick.
"""
from __future__ import annotations

import json
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from tests.prism import oai_dir
from tests.support import ADMIN_KEY, ADMIN_SECRET, API_KEY, API_SECRET, LANDLINE, MOBILE, make_env
from verify.api import openapi_build

DOCUMENT = json.loads(openapi_build.OUTPUT.read_text())
# Routes that are not the API, each for its reason: Flask's static files; Twilio's webhooks
# (signed by Twilio, answered with TwiML: a contract with Twilio, not with clients); the
# people's and Entra's pages (HTML for a browser, served only where configured).
NOT_THE_API = re.compile(r"/(static|sms|voice|eam|my|\.well-known)(/.*)?")


def test_the_description_is_a_fresh_build_of_twilios_and_the_overlay():
    twilio = json.loads((oai_dir() / "twilio_verify_v2.json").read_text())
    built = openapi_build.render(openapi_build.build(twilio, json.loads(openapi_build.OVERLAY.read_text())))
    assert built == openapi_build.OUTPUT.read_text(), \
        "verify/api/openapi.json is stale or edited by hand: run python -m verify.api.openapi_build"


def shape(path: str) -> str:
    """A path with its parameters unnamed: Flask's <sid> and OpenAPI's {Sid} alike."""
    return re.sub(r"<[^>]+>|{[^}]+}", "{}", path)


def test_every_route_is_described_and_every_described_route_exists(redis_url, standin):
    app = create_app(make_env(redis_url, standin.base_url, "http://localhost"))
    routes = {(shape(rule.rule), method.lower()) for rule in app.url_map.iter_rules()
              if not NOT_THE_API.fullmatch(rule.rule) for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(shape(path), method) for path, item in DOCUMENT["paths"].items()
                 for method in ("get", "post", "delete", "put", "patch") if method in item}
    assert not routes - described, f"routes the description lacks: {sorted(routes - described)}"
    assert not described - routes, f"described, but no such route: {sorted(described - routes)}"
    assert ("/v2/Services/{}/BlockedNumbers", "post") in routes & described  # the comparison sees ours


def test_the_description_is_served_without_credentials_and_cacheable(live):
    answer = requests.get(f"{live.url}/openapi.json", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "public, max-age=3600"
    served = answer.json()
    assert served["servers"] == [{"url": live.url, "description": "This telverify (its PUBLIC_BASE_URL)"}]
    assert {**served, "servers": DOCUMENT["servers"]} == DOCUMENT
    again = requests.get(f"{live.url}/openapi.json", headers={"If-None-Match": answer.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""


def test_ours_are_marked_and_twilios_unimplemented_are_gone():
    paths = DOCUMENT["paths"]
    assert paths["/v2/Services/{ServiceSid}/BlockedNumbers"]["x-telverify"] is True
    assert "call_approve" in DOCUMENT["components"]["schemas"]["verification_enum_channel"]["x-telverify-values"]
    service = DOCUMENT["components"]["schemas"]["verify.v2.service"]["properties"]
    assert service["code_expiry_seconds"]["x-telverify"] is True and "x-telverify" not in service["friendly_name"]
    start = paths["/v2/Services/{ServiceSid}/Verifications"]["post"]["requestBody"]["content"]
    assert "CustomMessage" not in start["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert not [path for path in paths if re.search(r"Passkeys|AccessTokens|Webhooks|Attempts|Templates", path)]
    assert "servers" not in json.dumps(paths), "an operation that names Twilio's server would send clients there"


# schemathesis. Each operation's path names real resources, made for it, so that its requests
# reach the operation itself rather than stop at a 404.
CONFIG = SchemathesisConfig.from_dict({
    "generation": {"mode": "all", "deterministic": True, "max-examples": 30, "database": "none"},
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@schemathesis.serializer("application/x-ndjson")
def json_lines(ctx, value) -> bytes:
    """An import's body (application/x-ndjson): its text as made, else JSON."""
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode()


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def made(live, nobody_answers):
    api = requests.Session()
    api.auth = (API_KEY, API_SECRET)
    base = f"{live.url}/v2"

    def post(path: str, **data) -> dict:
        answer = api.post(base + path, data=data, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    service = post("/Services", FriendlyName="Schema")["sid"]
    verification = post(f"/Services/{service}/Verifications", To=MOBILE, Channel="sms")["sid"]
    limit = post(f"/Services/{service}/RateLimits", UniqueName="ip")["sid"]
    bucket = post(f"/Services/{service}/RateLimits/{limit}/Buckets", Max="5", Interval="60")["sid"]
    entity = "schema-person-01"
    factor = post(f"/Services/{service}/Entities/{entity}/Factors", FactorType="phone", FriendlyName="Mobile",
                  **{"Config.Kind": "mobile", "Binding.PhoneNumber": MOBILE})["sid"]
    challenge = post(f"/Services/{service}/Entities/{entity}/Challenges", FactorSid=factor)["sid"]
    post("/SafeList/Numbers", PhoneNumber=LANDLINE)
    post(f"/Services/{service}/BlockedNumbers", PhoneNumber=LANDLINE)
    account = api.get(f"{base}/Services/{service}", timeout=10).json()["account_sid"]
    return {"ServiceSid": service, "RateLimitSid": limit, "Identity": entity, "FactorSid": factor,
            "PhoneNumber": LANDLINE, "AccountSid": account,
            "Sid": {"Services/{Sid}": service, "Verifications": verification, "Buckets": bucket,
                    "RateLimits": limit, "Factors": factor, "Challenges": challenge}}


def real_path(case, made: dict) -> None:
    for name in case.path_parameters:
        if name == "Sid":
            kind = next(k for k in made["Sid"] if k in case.path)
            case.path_parameters[name] = made["Sid"][kind]
        elif name in made:
            case.path_parameters[name] = made[name]


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation_answers_as_described(case, live, made):
    real_path(case, made)
    credentials = (ADMIN_KEY, ADMIN_SECRET) if case.path.startswith(("/admin", "/metrics")) else (API_KEY, API_SECRET)
    case.call_and_validate(base_url=live.url, auth=credentials, checks=CHECKS, timeout=10)
