"""Sending the text: Twilio's refusals and outages, delivery reports, and signed webhooks."""
import logging

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from app import create_app
from tests.support import API_KEY, API_SECRET, AUTH_TOKEN, LANDLINE, MOBILE, code_in, make_env
from verify.phone import mask_numbers


def start(sdk, service, to=MOBILE):
    return sdk.verify.v2.services(service.sid).verifications.create(to=to, channel="sms")


def test_landline_is_refused_before_twilio(sdk, service, standin):
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service, to=LANDLINE)
    assert (raised.value.status, raised.value.code) == (400, 60205)
    assert standin.requests() == []


@pytest.mark.parametrize("raw,reason", [
    ("+4474001234", "too short"),
    ("07400123456", "country calling code"),
    ("+999123456789", "country calling code"),
    ("not a number", "not a phone number"),
])
def test_invalid_numbers_say_what_is_wrong(sdk, service, standin, raw, reason):
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service, to=raw)
    assert (raised.value.status, raised.value.code) == (400, 60200)
    assert reason in raised.value.msg
    assert standin.requests() == []


@pytest.mark.parametrize("twilio_code,status,code,words", [
    (21211, 400, 60200, "not a valid phone number"),
    (21408, 403, 60605, "Geo Permissions"),
    (21610, 400, 21610, "replied STOP"),
    (21614, 400, 60205, "landline"),
])
def test_twilio_refusals_become_clear_errors(sdk, service, standin, twilio_code, status, code, words):
    standin.add_fault(to=MOBILE, http_status=400, code=twilio_code, message="refused")
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service)
    assert (raised.value.status, raised.value.code) == (status, code)
    assert words in raised.value.msg
    # Refused for good: no verification is left behind, so the next try starts afresh.
    standin.clear_faults()
    assert len(start(sdk, service).send_code_attempts) == 1


def test_numbers_in_twilios_own_words_are_masked_in_the_answer_and_the_log(client, auth, standin, caplog):
    """Twilio's message for a refusal telverify has no words of its own for names the number
    (21608: a trial account's unverified number), sometimes more than once: neither the answer
    nor the log line shows it whole."""
    caplog.set_level(logging.INFO)
    named = "+447400123499"
    standin.add_fault(to=MOBILE, http_status=400, code=21608,
                      message=f"The number {named} is unverified. Trial accounts cannot send messages to unverified "
                              f"numbers; verify {named} at twilio.com/user/account/phone-numbers/verified.")
    service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()["sid"]
    answer = client.post(f"/v2/Services/{service}/Verifications", data={"To": MOBILE, "Channel": "sms"}, auth=auth)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["code"] == 21608
    assert body["message"].count("+447*******99") == 2, body["message"]
    assert "is unverified" in body["message"]  # Twilio's words are kept, only the numbers masked
    logged = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert len(logged) == 1 and logged[0].count("+447*******99") == 2, logged
    for text in (body["message"], caplog.text):
        assert "7400123499" not in text and "7400123456" not in text


@pytest.mark.parametrize("text, masked", [
    ("The 'To' number +15005550001 is not a valid phone number.", "The 'To' number +150******01 is not a valid "
                                                                  "phone number."),
    ("To +1 (415) 555-0100, from 15017122661.", "To +141******00, from 1501*****61."),
    ("to:+447400123499;x+447400123499", "to:+447*******99;x+447*******99"),
    ("/Messages.json?To=%2B447400123499", "/Messages.json?To=%2B447*******99"),
    # sids, error codes and short figures are not numbers of anyone's
    ("SM1234567890abcdef1234567890abcdef: 21608, 30 seconds", "SM1234567890abcdef1234567890abcdef: 21608, 30 "
                                                             "seconds"),
])
def test_mask_numbers(text, masked):
    assert mask_numbers(text) == masked


@pytest.mark.parametrize("fault", [{"http_status": 503, "code": 20503}, {"delay": 3.0}])
def test_twilio_outage_answers_503_and_the_verification_stays_usable(sdk, service, standin, fault):
    standin.add_fault(to=MOBILE, times=1, **fault)
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service)
    assert (raised.value.status, raised.value.code) == (503, 20503)
    assert "Try again" in raised.value.msg
    retried = start(sdk, service)
    # The failed send did not use up one of the five.
    assert retried.status == "pending" and len(retried.send_code_attempts) == 1
    code = code_in(standin.wait_for_message(MOBILE, count=1 + ("delay" in fault)))
    check = sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code=code)
    assert check.status == "approved"


@pytest.mark.parametrize("retry_after, expected", [(None, "5"), (30, "30")])
def test_twilio_too_busy_answers_429_with_retry_after_and_the_verification_stays_usable(
        client, auth, standin, retry_after, expected):
    """Twilio's 429 (20429, too many requests at once) is for the client to retry after a
    while, as Twilio asks (its Retry-After), or after 5 seconds when Twilio does not say."""
    standin.add_fault(to=MOBILE, http_status=429, times=1,
                      **({"retry_after": retry_after} if retry_after else {}))
    service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()["sid"]
    start_url = f"/v2/Services/{service}/Verifications"
    refused = client.post(start_url, data={"To": MOBILE, "Channel": "sms"}, auth=auth)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == expected
    body = refused.get_json()
    assert (body["code"], body["status"]) == (20429, 429)
    assert f"try again in {expected} seconds" in body["message"] and "Nothing was sent" in body["message"]
    assert [r["http_status"] for r in standin.requests(MOBILE)] == [429]
    retried = client.post(start_url, data={"To": MOBILE, "Channel": "sms"}, auth=auth)
    assert retried.status_code == 201, retried.get_json()
    # The refused send did not use up one of the five.
    assert len(retried.get_json()["send_code_attempts"]) == 1
    code = code_in(standin.wait_for_message(MOBILE))
    check = client.post(f"/v2/Services/{service}/VerificationCheck", data={"To": MOBILE, "Code": code}, auth=auth)
    assert check.get_json()["status"] == "approved"


def test_twilio_too_busy_reaches_the_application_as_a_429(sdk, service, standin):
    standin.add_fault(to=MOBILE, http_status=429, times=1)
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service)
    assert (raised.value.status, raised.value.code) == (429, 20429)


def test_delivery_reports_mark_the_attempt(sdk, service, standin):
    verification = start(sdk, service)
    message = standin.wait_for_message(MOBILE)
    standin.wait_for_callbacks(message["sid"], 2)
    fetched = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch()
    assert fetched.send_code_attempts[0]["delivery_status"] == "delivered"


def test_undelivered_report_marks_the_attempt_with_its_error(sdk, service, standin):
    standin.add_fault(to=MOBILE, delivery="undelivered", error_code=30003)
    verification = start(sdk, service)
    message = standin.wait_for_message(MOBILE)
    callbacks = standin.wait_for_callbacks(message["sid"], 2)
    assert all(c["http_status"] == 204 for c in callbacks), callbacks
    attempt = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch().send_code_attempts[0]
    assert (attempt["delivery_status"], attempt["error_code"]) == ("undelivered", "30003")


def _status_url(live, service_sid, verification_sid):
    return f"{live.url}/sms/status?service={service_sid}&verification={verification_sid}&attempt=1"


def test_late_or_repeated_reports_never_move_status_back(sdk, service, standin, live):
    verification = start(sdk, service)
    standin.wait_for_callbacks(standin.wait_for_message(MOBILE)["sid"], 2)
    url = _status_url(live, service.sid, verification.sid)
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "sent"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    assert requests.post(url, data=params, headers={"X-Twilio-Signature": signature}).status_code == 204
    attempt = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch().send_code_attempts[0]
    assert attempt["delivery_status"] == "delivered"


@pytest.mark.parametrize("signature", [None, "bm90IGEgc2lnbmF0dXJl", "sign-with-wrong-token"])
def test_status_webhook_needs_a_valid_signature(sdk, service, standin, live, signature):
    verification = start(sdk, service)
    url = _status_url(live, service.sid, verification.sid)
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "failed", "ErrorCode": "30008"}
    headers = {}
    if signature == "sign-with-wrong-token":
        headers["X-Twilio-Signature"] = RequestValidator("another-token").compute_signature(url, params)
    elif signature:
        headers["X-Twilio-Signature"] = signature
    answer = requests.post(url, data=params, headers=headers)
    assert answer.status_code == 403 and answer.json()["code"] == 20003
    attempt = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch().send_code_attempts[0]
    assert attempt["delivery_status"] != "failed"


def test_signature_over_a_different_url_is_refused(sdk, service, standin, live):
    """A signature is bound to the URL, query included: it cannot be replayed for another attempt."""
    verification = start(sdk, service)
    signed_for = _status_url(live, service.sid, verification.sid).replace("attempt=1", "attempt=2")
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "failed"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_for, params)
    answer = requests.post(_status_url(live, service.sid, verification.sid), data=params,
                           headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 403


def _start_through_app(app) -> int:
    """The HTTP status of a first text, on a new service of `app`."""
    client, auth = app.test_client(), (API_KEY, API_SECRET)
    service_sid = client.post("/v2/Services", auth=auth, data={"FriendlyName": "Acme"}).get_json()["sid"]
    return client.post(f"/v2/Services/{service_sid}/Verifications", auth=auth,
                       data={"To": MOBILE, "Channel": "sms"}).status_code


def test_an_http_proxy_set_at_start_up_carries_the_requests_to_twilio(redis_url, standin, monkeypatch):
    """requests' proxy variables are read once, when the app starts (not per request, for
    speed), and still work: Twilio's host here does not exist, so only the proxy (the
    stand-in, which reads the absolute URL of a proxied request) can deliver the text."""
    monkeypatch.setenv("HTTP_PROXY", standin.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    app = create_app(make_env(redis_url, "http://twilio.invalid", "http://localhost"))
    monkeypatch.delenv("HTTP_PROXY")  # read at start-up: later changes do not matter
    assert _start_through_app(app) == 201
    assert standin.wait_for_message(MOBILE)["to"] == MOBILE


def test_no_proxy_for_twilios_host_is_honoured(redis_url, standin, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", standin.base_url)
    monkeypatch.setenv("NO_PROXY", "twilio.invalid")
    app = create_app(make_env(redis_url, "http://twilio.invalid", "http://localhost"))
    assert _start_through_app(app) == 503  # straight to a host that does not exist
    assert standin.messages() == []
