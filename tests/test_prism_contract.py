"""Contract tests: the Twilio REST requests telverify makes, checked against Twilio's own spec.

Why this exists: the local stand-in only knows what we taught it. Here the real `twilio`
library, redirected by verify.twilio.client.RedirectingHttpClient exactly as in production, sends
our SMS and voice requests to Stoplight Prism serving Twilio's official REST API v2010
OpenAPI spec (tests/prism.py). Prism validates each request (required fields, types, enums,
URI formats, form encoding, Basic auth) and answers 422 when it breaks the contract; a
negative control proves that it does, so a passing send means something. Prism does not
check E.164, Twilio's either/or rules (From vs MessagingServiceSid) or credentials.

Skipped only when Prism is not installed (`npm ci` in the repo root installs it).
"""
from __future__ import annotations

import json

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.prism import PRISM_BIN, patch_spec, prism_available, prism_mock, spec_path
from tests.support import ROOT
from verify.twilio.client import RedirectingHttpClient

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "token"
MESSAGING_SERVICE_SID = "MG" + "0123456789abcdef" * 2
TO = "+15558675310"
FROM = "+15017122661"
VERIFICATION_SID = "VE" + "ab" * 16
MESSAGES_URL = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
CALLS_URL = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"

needs_prism = pytest.mark.skipif(
    not prism_available(), reason=f"Stoplight Prism is not installed ({PRISM_BIN} missing): run `npm ci`"
)


@pytest.fixture(scope="module")
def prism_url():
    if not prism_available():
        pytest.skip(f"Stoplight Prism is not installed ({PRISM_BIN} missing): run `npm ci` in {ROOT}")
    with prism_mock() as base_url:
        yield base_url


@pytest.fixture
def client(prism_url):
    return Client(
        username=ACCOUNT_SID,
        password=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        http_client=RedirectingHttpClient(prism_url, timeout=10),
    )


def _call_kwargs(**overrides):
    kwargs = dict(
        to=TO,
        from_=FROM,
        url=f"https://example.com/voice/answer?verification={VERIFICATION_SID}",
        method="POST",
        status_callback="https://example.com/voice/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        status_callback_method="POST",
        machine_detection="Enable",
        send_digits="wwww123#",
        timeout=30,
    )
    kwargs.update(overrides)
    return kwargs


# --- SMS ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sender", [{"from_": FROM}, {"messaging_service_sid": MESSAGING_SERVICE_SID}],
                         ids=["from-number", "messaging-service"])
def test_sms_meets_contract(client, sender):
    message = client.messages.create(
        to=TO,
        body="Your Acme verification code is: 123456",
        status_callback=f"https://example.com/sms/status?verification={VERIFICATION_SID}&attempt=1",
        **sender,
    )
    assert message.sid.startswith("SM") and len(message.sid) == 34


def test_negative_control_prism_rejects_message_without_to(prism_url):
    """Prism really validates: the same request without `To` is refused, naming the field."""
    resp = requests.post(
        prism_url + MESSAGES_URL,
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        data={"From": FROM, "Body": "Your Acme verification code is: 123456"},
        timeout=10,
    )
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.status_code == 422
    assert "'To'" in json.dumps(resp.json().get("validation", []))


def test_negative_control_prism_requires_basic_auth(prism_url):
    resp = requests.post(prism_url + MESSAGES_URL, data={"To": TO, "From": FROM, "Body": "x"}, timeout=10)
    assert resp.status_code == 401


def test_contract_violation_reaches_the_library_as_rest_exception(client):
    """A request the spec forbids (`Url` not a URI) surfaces as TwilioRestException, not success."""
    with pytest.raises(TwilioRestException) as info:
        client.calls.create(**_call_kwargs(url="not a url"))
    assert info.value.status == 422


# --- Voice -------------------------------------------------------------------------------

def test_call_meets_contract(client):
    call = client.calls.create(**_call_kwargs())
    assert call.sid.startswith("CA") and len(call.sid) == 34


def test_call_with_single_status_callback_event_meets_contract(client):
    """One value of an array form field: the case the spec patch exists for (tests/prism.py)."""
    call = client.calls.create(**_call_kwargs(status_callback_event=["completed"]))
    assert call.sid.startswith("CA") and len(call.sid) == 34


# --- The spec patch ----------------------------------------------------------------------

def test_patch_declares_exploded_form_encoding_for_array_fields():
    source = spec_path()
    original_text = source.read_text()
    spec = json.loads(original_text)
    patched, changes = patch_spec(spec)
    media = patched["paths"]["/2010-04-01/Accounts/{AccountSid}/Calls.json"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]
    assert media["encoding"]["StatusCallbackEvent"] == {"style": "form", "explode": True}
    assert "POST /2010-04-01/Accounts/{AccountSid}/Messages.json MediaUrl" in changes
    # The input and the shared file are left as they were.
    assert json.loads(original_text) == spec
    assert source.read_text() == original_text


@needs_prism
def test_unpatched_spec_shows_the_prism_quirk():
    """Without the patch, Prism refuses a valid one-value StatusCallbackEvent as "must be array"."""
    form = {
        "To": TO,
        "From": FROM,
        "Url": "https://example.com/voice/answer",
        "StatusCallbackEvent": "completed",
    }
    with prism_mock(patch=False) as base_url:
        resp = requests.post(base_url + CALLS_URL, auth=(ACCOUNT_SID, AUTH_TOKEN), data=form, timeout=10)
    assert resp.status_code == 422, resp.text
    assert "StatusCallbackEvent must be array" in resp.text


@pytest.mark.parametrize("sender", [
    {"TWILIO_FROM_NUMBER": "+15017122661"},
    {"TWILIO_FROM_NUMBER": None, "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0123456789abcdef" * 2},
])
def test_our_sms_channel_passes_the_contract(prism_url, redis_url, sender):
    """telverify itself sends the text to Prism: its Messages request must satisfy Twilio's spec."""
    from app import create_app
    from tests.support import API_KEY, API_SECRET, MOBILE, make_env

    app = create_app(make_env(redis_url, prism_url, "http://localhost", **sender))
    web = app.test_client()
    service = web.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=(API_KEY, API_SECRET)).get_json()
    answer = web.post(f"/v2/Services/{service['sid']}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                      auth=(API_KEY, API_SECRET))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["send_code_attempts"][0]["channel"] == "sms"


@pytest.mark.parametrize("channel,to", [("call", "+1 212 555 0123 x123"), ("call_approve", "+442079460000")])
def test_our_call_channels_pass_the_contract(prism_url, redis_url, channel, to):
    """telverify places the call on Prism: its Calls request (answering-machine detection, status
    events, the extension as SendDigits) must satisfy Twilio's spec."""
    from app import create_app
    from tests.support import API_KEY, API_SECRET, make_env

    app = create_app(make_env(redis_url, prism_url, "http://localhost"))
    web = app.test_client()
    service = web.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=(API_KEY, API_SECRET)).get_json()
    answer = web.post(f"/v2/Services/{service['sid']}/Verifications", data={"To": to, "Channel": channel},
                      auth=(API_KEY, API_SECRET))
    assert answer.status_code == 201, answer.get_json()
    attempt = answer.get_json()["send_code_attempts"][0]
    assert attempt["channel"] == channel
    assert attempt["call_sid"].startswith("CA")  # Prism's example Call, bound to the attempt
