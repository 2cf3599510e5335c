"""Twilio's webhooks with made-up contents, signed as Twilio signs them: whatever the query and
the form say, a call hears TwiML (never an error Twilio would read out), a callback gets its
2xx, and nothing fails inside (no error logged). Hypothesis makes up the requests."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from tests.support import AUTH_TOKEN, LANDLINE, MOBILE

BASE = "http://localhost"  # the app fixture's PUBLIC_BASE_URL
TWIML_ROUTES = ("/voice/answer", "/voice/step", "/voice/key")
CALLBACK_ROUTES = ("/voice/status", "/voice/amd", "/sms/status")
ODD = st.one_of(st.text(max_size=24), st.sampled_from(["", "0", "-1", "999", "1e3", "%", "\x00", "é"]))


@pytest.fixture
def calls(client, auth, nobody_answers):
    """A code call and an approve call, rung and unanswered, and a text: what a webhook may name."""
    service = client.post("/v2/Services", data={"FriendlyName": "Fuzz"}, auth=auth).get_json()["sid"]
    made = []
    for to, channel in ((LANDLINE, "call"), (MOBILE, "call_approve"), (MOBILE, "sms")):
        answer = client.post(f"/v2/Services/{service}/Verifications", data={"To": to, "Channel": channel}, auth=auth)
        assert answer.status_code == 201, answer.get_json()
        made.append(answer.get_json())
    return made


def query_and_form(verification: dict) -> st.SearchStrategy[tuple[dict, dict]]:
    """Half the time the webhook names its call rightly (so the call's own steps run), else any
    of the names may be wrong, made up or odd."""
    attempt = verification["send_code_attempts"][0]
    real = {"service": verification["service_sid"], "verification": verification["sid"], "attempt": "1",
            "CallSid": attempt["call_sid"] or "SM" + "0" * 32}
    made_up = {"service": "VA" + "0" * 32, "verification": "VE" + "0" * 32, "attempt": "2", "CallSid": "CA" + "f" * 32}

    def name(field: str, coherent: bool):
        return st.just(real[field]) if coherent else st.one_of(st.just(real[field]), st.just(made_up[field]), ODD)

    def both(coherent: bool):
        query = st.fixed_dictionaries(
            {field: name(field, coherent) for field in ("service", "verification", "attempt")},
            optional={"step": st.one_of(st.sampled_from(["start", "approve", "fraud", "detect", "gate", "code"]), ODD),
                      "round": st.one_of(st.sampled_from(["1", "3", "4", "12", "13", "99"]), ODD)})
        form = st.fixed_dictionaries(
            {"CallSid": name("CallSid", coherent)},
            optional={"Digits": st.one_of(st.sampled_from(["#", "0", "1", "*", "0#", "##", ""]), ODD),
                      "CallStatus": st.one_of(st.sampled_from(["in-progress", "completed", "busy", "no-answer",
                                                               "failed", "canceled"]), ODD),
                      "AnsweredBy": st.one_of(st.sampled_from(["human", "machine_start", "fax", "unknown"]), ODD),
                      "MessageStatus": st.one_of(st.sampled_from(["sent", "delivered", "undelivered", "failed"]), ODD),
                      "ErrorCode": st.one_of(st.sampled_from(["30003", "30005", ""]), ODD),
                      "To": st.just(verification["to"]), "AccountSid": st.just("AC" + "0" * 32)})
        return st.tuples(query, form)
    return st.booleans().flatmap(both)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_made_up_webhooks_get_twiml_or_their_2xx_and_fail_nothing(client, calls, caplog, data):
    route = data.draw(st.sampled_from(TWIML_ROUTES + CALLBACK_ROUTES), label="route")
    query, form = data.draw(st.sampled_from(calls).flatmap(query_and_form), label="query, form")
    path = f"{route}?{urlencode(query)}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, form)
    caplog.set_level(logging.ERROR)
    caplog.clear()
    answer = client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    failures = [r.getMessage() for r in caplog.records if r.name.startswith("telverify")]
    assert not failures, failures
    if route in TWIML_ROUTES:
        assert (answer.status_code, answer.mimetype) == (200, "application/xml"), answer.get_data(as_text=True)
        twiml = ET.fromstring(answer.get_data())
        assert twiml.tag == "Response" and len(twiml), answer.get_data(as_text=True)
    else:
        assert answer.status_code == 204, answer.get_data(as_text=True)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(TWIML_ROUTES + CALLBACK_ROUTES),
       signature=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40))  # a header: no newlines
def test_made_up_signatures_are_403(client, route, signature):
    answer = client.post(f"{route}?service=VA{'0' * 32}", data={"CallSid": "CA" + "0" * 32, "Digits": "#"},
                         headers={"X-Twilio-Signature": signature} if signature else {})
    assert answer.status_code == 403 and answer.get_json()["code"] == 20003
