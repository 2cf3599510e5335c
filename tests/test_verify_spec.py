"""telverify's /v2 API held to Twilio's own description of Verify v2 (shared/twilio-oai).

Two kinds of test:
- conformance: each operation telverify implements, called over real HTTP, answers a status
  the spec lists, with a body valid against the spec's schema, carrying every field the spec
  names (Verify's SDKs read them) and no field beyond them but telverify's documented ones;
- fuzzing: every operation of the spec, implemented or not, sent forms and queries that
  Hypothesis makes up (the spec's parameter names and names of its own, odd values, bodies
  that are not UTF-8) never gets a 500, and every refusal is Twilio's error shape. (The same
  examples on every run: conftest's Hypothesis profile.)
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator

from tests.prism import oai_dir
from tests.support import LANDLINE, MOBILE, code_in

SPEC = json.loads((oai_dir() / "twilio_verify_v2.json").read_text())
METHODS = ("get", "post", "delete")

# What telverify answers beyond Verify, per schema (README: "Using the API"). A field added or
# renamed by mistake fails here; a deliberate one is added to this list and to the README.
EXTENSIONS = {
    "verify.v2.service": {"code_expiry_seconds", "limit_sends_per_number", "limit_calls_per_number",
                          "limit_verifications_per_number", "limit_sends_per_prefix", "limit_sends_per_service",
                          "allowed_countries"},
    "verify.v2.service.verification": {"date_expires", "call_outcome", "fraud_reported"},
    "verify.v2.service.entity": {"default_factor_sid"},
}
# ...and the channel telverify adds: press # to approve.
CHANNEL_ENUMS = ("verification_enum_channel", "verification_check_enum_channel")
COMPONENTS = json.loads(json.dumps(SPEC["components"]))
for enum in CHANNEL_ENUMS:
    COMPONENTS["schemas"][enum]["enum"].append("call_approve")


def resolve(node: dict) -> dict:
    while "$ref" in node:
        node = SPEC["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def operation(method: str, path: str) -> dict:
    return SPEC["paths"][path][method]


def response_schema(method: str, path: str, status: int) -> tuple[str, dict] | None:
    """(schema name, schema) of the JSON answer the spec gives `status`, or None."""
    answer = operation(method, path)["responses"].get(str(status), {})
    ref = answer.get("content", {}).get("application/json", {}).get("schema")
    if ref is None:
        return None
    return ref.get("$ref", "a list page").rsplit("/", 1)[-1], ref


def conforms(method: str, path: str, response: requests.Response | object) -> dict | None:
    """Assert that `response` is what the spec says `method path` answers; its JSON body."""
    status = response.status_code
    assert str(status) in operation(method, path)["responses"], \
        f"{method.upper()} {path} answered {status}, which the spec does not list: {response.text[:300]}"
    found = response_schema(method, path, status)
    if found is None:
        assert not response_body(response), f"{method.upper()} {path} {status} has a body"
        return None
    name, ref = found
    body = response_json(response)
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in OAS30Validator({**ref, "components": COMPONENTS}).iter_errors(body)]
    assert not errors, f"{method.upper()} {path}: {errors}"
    schema = resolve(ref)
    records = [(name, schema, body)]
    for key, value in body.items():  # the items of a list page (services, rate_limits...)
        items = resolve(schema["properties"].get(key, {})).get("items", {})
        if "$ref" in items and isinstance(value, list):
            records += [(items["$ref"].rsplit("/", 1)[1], resolve(items), item) for item in value]
    for schema_name, schema, record in records:
        names = set(schema["properties"])
        assert not names - set(record), f"{schema_name}: fields missing: {sorted(names - set(record))}"
        assert set(record) - names == EXTENSIONS.get(schema_name, set()), \
            f"{schema_name}: fields beyond Verify's: {sorted(set(record) - names)}"
    return body


def response_body(response) -> bytes:
    return response.content if isinstance(response, requests.Response) else response.get_data()


def response_json(response):
    return response.json() if isinstance(response, requests.Response) else response.get_json()


def test_every_implemented_operation_answers_as_the_spec_says(live, standin, auth):
    api = requests.Session()
    api.auth = auth
    base = f"{live.url}/v2"

    def call(method: str, path: str, status: int, data=None, **sids) -> dict | None:
        answer = api.request(method, base + path[3:].format(**sids), data=data, timeout=10)
        assert answer.status_code == status, answer.text
        return conforms(method, path, answer)

    service = call("post", "/v2/Services", 201, {"FriendlyName": "Acme", "CodeLength": "8"})["sid"]
    call("get", "/v2/Services/{Sid}", 200, Sid=service)
    call("post", "/v2/Services/{Sid}", 200, {"DoNotShareWarningEnabled": "true"}, Sid=service)
    assert call("get", "/v2/Services", 200)["services"], "the page lists the service"

    sms = call("post", "/v2/Services/{ServiceSid}/Verifications", 201, {"To": MOBILE, "Channel": "sms"},
               ServiceSid=service)
    voice = call("post", "/v2/Services/{ServiceSid}/Verifications", 201,
                 {"To": LANDLINE, "Channel": "call_approve"}, ServiceSid=service)
    for verification in (sms, voice):
        call("get", "/v2/Services/{ServiceSid}/Verifications/{Sid}", 200, ServiceSid=service, Sid=verification["sid"])
    call("post", "/v2/Services/{ServiceSid}/Verifications/{Sid}", 200, {"Status": "canceled"},
         ServiceSid=service, Sid=voice["sid"])
    code = code_in(standin.wait_for_message(MOBILE))
    assert call("post", "/v2/Services/{ServiceSid}/VerificationCheck", 200, {"To": MOBILE, "Code": code},
                ServiceSid=service)["status"] == "approved"

    limit = call("post", "/v2/Services/{ServiceSid}/RateLimits", 201, {"UniqueName": "end_user_ip_address"},
                 ServiceSid=service)["sid"]
    call("get", "/v2/Services/{ServiceSid}/RateLimits", 200, ServiceSid=service)
    call("get", "/v2/Services/{ServiceSid}/RateLimits/{Sid}", 200, ServiceSid=service, Sid=limit)
    call("post", "/v2/Services/{ServiceSid}/RateLimits/{Sid}", 200, {"Description": "per IP"},
         ServiceSid=service, Sid=limit)
    buckets = "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets"
    bucket = call("post", buckets, 201, {"Max": "5", "Interval": "60"}, ServiceSid=service, RateLimitSid=limit)["sid"]
    call("get", buckets, 200, ServiceSid=service, RateLimitSid=limit)
    call("get", buckets + "/{Sid}", 200, ServiceSid=service, RateLimitSid=limit, Sid=bucket)
    call("post", buckets + "/{Sid}", 200, {"Max": "6"}, ServiceSid=service, RateLimitSid=limit, Sid=bucket)
    call("delete", buckets + "/{Sid}", 204, ServiceSid=service, RateLimitSid=limit, Sid=bucket)
    call("delete", "/v2/Services/{ServiceSid}/RateLimits/{Sid}", 204, ServiceSid=service, Sid=limit)

    call("post", "/v2/SafeList/Numbers", 201, {"PhoneNumber": MOBILE})
    call("get", "/v2/SafeList/Numbers/{PhoneNumber}", 200, PhoneNumber=quote(MOBILE))
    call("delete", "/v2/SafeList/Numbers/{PhoneNumber}", 204, PhoneNumber=quote(MOBILE))
    call("delete", "/v2/Services/{Sid}", 204, Sid=service)


def test_conformance_catches_a_missing_or_extra_field():
    """The check above can fail: a verification without `valid`, or with a stray field."""
    class Answer:
        status_code = 200

        def __init__(self, body):
            self.body = body

        def get_data(self):
            return json.dumps(self.body).encode()

        def get_json(self):
            return self.body

    path = "/v2/Services/{ServiceSid}/VerificationCheck"
    good = {"sid": "VE" + "0" * 32, "service_sid": "VA" + "0" * 32, "account_sid": "AC" + "0" * 32,
            "to": MOBILE, "channel": "sms", "status": "pending", "valid": False, "amount": None, "payee": None,
            "date_created": "2026-11-25T10:00:00Z", "date_updated": "2026-11-25T10:00:00Z",
            "sna_attempts_error_codes": []}
    conforms("post", path, Answer(good))
    for bad, words in (({k: v for k, v in good.items() if k != "valid"}, "missing"),
                       ({**good, "code": "123456"}, "beyond"), ({**good, "sid": "XX1"}, "XX1")):
        with pytest.raises(AssertionError, match=words):
            conforms("post", path, Answer(bad))


# Fuzzing. The path's sids are real ones (made by the test) or made up; names come from the
# spec (the operation's own parameters) or are made up; values are odd or plausible.
PLAUSIBLE = ["", " ", "sms", "call", "call_approve", "email", "true", "false", "0", "-1", "6", "11", "600",
             "99999999999", MOBILE, LANDLINE, "+1", "+44 7400 123456 x123", "123456", "canceled", "approved",
             "pending", "en", "pt-BR", "xx", "1#w2*", "W" * 33, '{"a": "b"}', "[]", "{", "null", "%00", "\x00",
             "<Say>", "é", "😀", "a" * 300]
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
VALUES = st.one_of(st.sampled_from(PLAUSIBLE), st.text(max_size=40))


def parameters(method: str, path: str) -> tuple[list[str], list[str]]:
    """(form names, query names) of an operation."""
    if (method, path) in OWN:
        return OWN[method, path]
    op = operation(method, path)
    form = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
    return (list(form.get("schema", {}).get("properties", {})),
            [p["name"] for p in op.get("parameters", []) if p["in"] == "query"])


SPEC_OPERATIONS = [(method, path) for path, item in SPEC["paths"].items() for method in METHODS if method in item]
_OURS = re.compile(r"/v2/(SafeList/.*|Services(/{\w+}(/(Verifications.*|VerificationCheck|RateLimits.*"
                   r"|Entities(/{Identity}(/(Factors.*|Challenges(/{Sid})?))?)?))?)?)")
# telverify's own operations, which the spec has not: (form names, query names)
OWN = {("get", "/v2/Services/{ServiceSid}/BlockedNumbers"): ([], ["PageSize", "Page", "PageToken"]),
       ("post", "/v2/Services/{ServiceSid}/BlockedNumbers"): (["PhoneNumber", "Days"], []),
       ("get", "/v2/Services/{ServiceSid}/BlockedNumbers/{PhoneNumber}"): ([], []),
       ("delete", "/v2/Services/{ServiceSid}/BlockedNumbers/{PhoneNumber}"): ([], []),
       ("post", "/v2/Services/{ServiceSid}/Entities/{Identity}"): (["DefaultFactorSid"], [])}
IMPLEMENTED = [(method, path) for method, path in SPEC_OPERATIONS if _OURS.fullmatch(path)] + list(OWN)
OTHERS = [op for op in SPEC_OPERATIONS if op not in IMPLEMENTED]
REFUSAL = re.compile(r"https://www\.twilio\.com/docs/errors/(\d+)")


@pytest.fixture
def made(client, auth, nobody_answers):
    """Real resources for the fuzzed paths to name: a service, a verification, a rate limit, a
    bucket and a safe-listed number. (Calls the fuzzing starts ring, and nobody picks up.)"""
    service = client.post("/v2/Services", data={"FriendlyName": "Fuzz"}, auth=auth).get_json()["sid"]
    verification = client.post(f"/v2/Services/{service}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                               auth=auth).get_json()["sid"]
    limit = client.post(f"/v2/Services/{service}/RateLimits", data={"UniqueName": "ip"}, auth=auth).get_json()["sid"]
    bucket = client.post(f"/v2/Services/{service}/RateLimits/{limit}/Buckets", data={"Max": "5", "Interval": "60"},
                         auth=auth).get_json()["sid"]
    assert client.post("/v2/SafeList/Numbers", data={"PhoneNumber": LANDLINE}, auth=auth).status_code == 201
    identity = "fuzz-entity-0001"
    factor = client.post(f"/v2/Services/{service}/Entities/{identity}/Factors", auth=auth,
                         data={"FactorType": "totp", "FriendlyName": "Fuzz"}).get_json()["sid"]
    return {"ServiceSid": service, "Sid": verification, "RateLimitSid": limit, "PhoneNumber": quote(LANDLINE),
            "bucket": bucket, "Identity": identity, "factor": factor}


def path_values(path: str, made: dict) -> st.SearchStrategy[dict]:
    real = dict(made)
    if path.startswith("/v2/Services/{Sid}"):
        real["Sid"] = made["ServiceSid"]
    elif path.endswith("Buckets/{Sid}"):
        real["Sid"] = made["bucket"]
    elif "RateLimits/{Sid}" in path:
        real["Sid"] = made["RateLimitSid"]
    elif "Factors/{Sid}" in path:
        real["Sid"] = made["factor"]
    names = re.findall(r"{(\w+)}", path)
    made_up = st.one_of(st.sampled_from(["VA" + "0" * 32, "VE" + "f" * 32, "RK" + "1" * 32, "BL" + "2" * 32,
                                         "x", "%20", "..", "%2F", "+15017122661"]),
                        st.text(max_size=40).map(lambda text: quote(text, safe="")).filter(bool))
    return st.fixed_dictionaries({name: st.one_of(st.just(real.get(name, "x")), made_up) for name in names})


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("method,path", IMPLEMENTED, ids=[f"{m.upper()} {p}" for m, p in IMPLEMENTED])
@settings(max_examples=40, **FUZZ)
@given(data=st.data())
def test_made_up_requests_never_fail_and_refusals_are_twilio_errors(client, auth, made, caplog, method, path, data):
    fuzz(client, auth, made, caplog, method, path, data)


@pytest.mark.parametrize("method,path", OTHERS, ids=[f"{m.upper()} {p}" for m, p in OTHERS])
@settings(max_examples=8, **FUZZ)
@given(data=st.data())
def test_operations_telverify_lacks_are_refused_as_twilio_errors(client, auth, made, caplog, method, path, data):
    fuzz(client, auth, made, caplog, method, path, data)


def fuzz(client, auth, made, caplog, method, path, data):
    form_names, query_names = parameters(method, path)
    # Mostly the operation's own names (an unknown one is refused before anything else is read).
    pairs = list(data.draw(st.dictionaries(st.sampled_from(form_names), VALUES), label="form").items()) \
        if form_names else []
    if data.draw(st.integers(0, 7)) == 0:
        pairs += data.draw(st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=2), label="more names")
    raw = data.draw(st.binary(max_size=40), label="raw body") if data.draw(st.integers(0, 7)) == 0 else None
    query = data.draw(st.lists(st.tuples(st.sampled_from(query_names or ["PageSize"]), VALUES), max_size=3),
                      label="query")
    url = path.format(**data.draw(path_values(path, made), label="path")) + (f"?{urlencode(query)}" if query else "")
    body = raw if raw is not None else urlencode(pairs).encode()
    caplog.set_level(logging.ERROR)
    caplog.clear()
    answer = client.open(url, method=method.upper(), data=body, auth=auth,
                         content_type="application/x-www-form-urlencoded")

    assert answer.status_code < 500, answer.get_data(as_text=True)
    failures = [r.getMessage() for r in caplog.records if r.name.startswith("telverify")]
    assert not failures, failures
    if answer.status_code == 204:
        assert answer.get_data() == b""
        return
    assert answer.mimetype == "application/json"
    payload = answer.get_json()
    if answer.status_code >= 400:
        assert set(payload) == {"code", "message", "more_info", "status"}, payload
        assert payload["status"] == answer.status_code and isinstance(payload["code"], int)
        assert isinstance(payload["message"], str) and len(payload["message"]) > 10
        assert REFUSAL.fullmatch(payload["more_info"]).group(1) == str(payload["code"])
    elif (method, path) not in OWN:
        conforms(method, path, answer)
