"""The /voice webhooks driven as Twilio drives them, one signed request at a time.

Here the test plays Twilio: it sends each webhook itself (signed with the `twilio` library's
RequestValidator), so it can repeat them, send them late, out of order or from another call.
test_voice_calls.py runs whole calls through the stand-in instead.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
import redis
from freezegun import freeze_time
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from tests.support import AUTH_TOKEN, LANDLINE, MOBILE, SECRET_KEY
from verify.codes import CodeBook
from verify.store import keys
from voice.speech import spoken_digits

BASE = "http://localhost"  # the app fixture's PUBLIC_BASE_URL
OTHER_CALL = "CA" + "f" * 32


# The stand-in really places each call; these tests play Twilio's webhooks themselves.
pytestmark = pytest.mark.usefixtures("nobody_answers")


@pytest.fixture
def acme(client, auth):
    return client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()


def start(client, auth, service, channel, to=MOBILE, **params):
    answer = client.post(f"/v2/Services/{service['sid']}/Verifications",
                         data={"To": to, "Channel": channel, **params}, auth=auth)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


class Twilio:
    """Sends the webhooks of one call as Twilio would, signed for PUBLIC_BASE_URL."""

    def __init__(self, client, verification, attempt=1, call_sid=None):
        self.client = client
        self.verification = verification
        self.attempt = attempt
        self.call_sid = call_sid or verification["send_code_attempts"][attempt - 1]["call_sid"]

    def post(self, route, form=None, signed=True, base=BASE, **query):
        query = {"service": self.verification["service_sid"], "verification": self.verification["sid"],
                 "attempt": self.attempt, **query}
        path = f"/voice/{route}?{urlencode(query)}"
        form = {"AccountSid": "AC" + "0" * 32, "CallSid": self.call_sid, "From": "+15017122661",
                "To": self.verification["to"], "Direction": "outbound-api", "ApiVersion": "2010-04-01",
                "CallStatus": "in-progress", **(form or {})}
        headers = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(base + path, form)
                   if signed else "bad"}
        return self.client.post(path, data=form, headers=headers)

    def twiml(self, route, form=None, **query):
        answer = self.post(route, form, **query)
        assert answer.status_code == 200, answer.data
        assert answer.mimetype == "application/xml"
        return ET.fromstring(answer.data)

    def follow(self, node):
        """Request the URL a <Redirect> or <Gather action> points to, as Twilio does."""
        url = node.text if node.tag == "Redirect" else node.get("action")
        assert url.startswith(BASE + "/voice/")
        route, _, query = url[len(BASE) + len("/voice/"):].partition("?")
        params = dict(pair.split("=", 1) for pair in query.split("&"))
        for name in ("service", "verification", "attempt"):
            params.pop(name)
        return route, params


def said(twiml) -> str:
    return " ".join(say.text for say in twiml.iter("Say"))


def press(twilio, twiml, digit):
    gather = twiml.find("Gather")
    assert gather is not None, ET.tostring(twiml)
    route, params = twilio.follow(gather)
    return twilio.twiml(route, {"Digits": digit}, **params)


def fetch(client, auth, verification):
    return client.get(f"/v2/Services/{verification['service_sid']}/Verifications/{verification['sid']}",
                      auth=auth).get_json()


# --- signatures and unknown calls ---------------------------------------------------------------

@pytest.mark.parametrize("route", ["answer", "step", "key", "status", "amd"])
def test_every_voice_webhook_needs_a_valid_signature(client, auth, acme, route):
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    answer = twilio.post(route, {"Digits": "#"}, signed=False, step="approve", round=1)
    assert answer.status_code == 403
    assert answer.get_json()["code"] == 20003
    assert fetch(client, auth, twilio.verification)["status"] == "pending"


@pytest.mark.parametrize("base, accepted", [
    ("http://localhost:80", True),  # Twilio sometimes signs the URL with its default port written out
    ("http://localhost:8080", False),
    ("https://localhost", False),
    ("http://localhost/other", False),
])
def test_signature_over_the_url_as_twilio_may_write_it(client, auth, acme, base, accepted):
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    answer = twilio.post("key", {"Digits": "#"}, base=base, step="approve", round=1)
    assert answer.status_code == (200 if accepted else 403)
    assert fetch(client, auth, twilio.verification)["status"] == ("approved" if accepted else "pending")


@pytest.mark.parametrize("route", ["key", "status"])
def test_a_signature_with_odd_characters_is_just_wrong(client, auth, acme, route):
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    path = f"/voice/{route}?service={acme['sid']}&verification={twilio.verification['sid']}&attempt=1&step=approve"
    answer = client.post(path, data={"CallSid": twilio.call_sid, "Digits": "#"},
                         headers={"X-Twilio-Signature": "\u00e9t\u00e9=="})
    assert answer.status_code == 403 and answer.get_json()["code"] == 20003
    assert fetch(client, auth, twilio.verification)["status"] == "pending"


def test_a_repeated_form_field_is_signed_with_all_its_values(client, auth, acme):
    """Twilio signs every value of a repeated name; a request carrying one more value fails."""
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    path = (f"/voice/status?service={acme['sid']}&verification={twilio.verification['sid']}&attempt=1")
    form = MultiDict([("CallSid", twilio.call_sid), ("CallStatus", "ringing"), ("Tag", "a"), ("Tag", "b")])
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, form)
    assert client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code == 204
    form.add("Tag", "c")
    assert client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code == 403


@pytest.mark.parametrize("query", [
    {"verification": "VE" + "0" * 32},  # unknown
    {"verification": "not-a-sid"},
    {"attempt": "7"},  # no such attempt
    {"service": "VA" + "0" * 32},
])
def test_a_call_for_an_unknown_verification_hears_an_apology_and_is_hung_up(client, auth, acme, query):
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    twiml = twilio.twiml("answer", **query)
    assert "no longer active" in said(twiml)
    assert twiml[-1].tag == "Hangup"
    assert twiml.find("Gather") is None


def test_a_call_whose_service_was_deleted_meanwhile_hears_an_apology(client, auth, acme):
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    prompt = twilio.twiml("answer")
    assert "Acme" in said(prompt)  # the call names its service while it exists
    assert client.delete(f"/v2/Services/{acme['sid']}", auth=auth).status_code == 204
    for twiml in (press(twilio, prompt, "#"), twilio.twiml("answer")):
        assert "no longer active" in said(twiml) and twiml.find("Gather") is None


def test_pound_does_not_approve_a_code_call(client, auth, acme):
    """# decides in one script without the webhook's usual checks first: that script refuses a
    call that reads a code, even when its URL claims the approve step."""
    verification = start(client, auth, acme, "call")
    twiml = Twilio(client, verification).twiml("key", {"Digits": "#"}, step="approve", round=1)
    assert "no longer active" in said(twiml)
    assert fetch(client, auth, verification)["status"] == "pending"


def test_a_webhook_from_another_call_changes_nothing(client, auth, acme):
    verification = start(client, auth, acme, "call_approve")
    stranger = Twilio(client, verification, call_sid=OTHER_CALL)
    twiml = stranger.twiml("key", {"Digits": "#"}, step="approve", round=1)
    assert "no longer active" in said(twiml)
    assert fetch(client, auth, verification)["status"] == "pending"


# --- press # to approve -----------------------------------------------------------------------

def test_pound_approves_once_and_the_call_says_so(client, auth, acme):
    verification = start(client, auth, acme, "call_approve")
    twilio = Twilio(client, verification)
    twiml = twilio.twiml("answer")
    gather = twiml.find("Gather")
    assert gather.get("numDigits") == "1" and gather.get("finishOnKey") == ""
    assert "Acme" in said(twiml) and "press the pound key" in said(twiml)
    assert "zero" in said(twiml)

    confirmed = press(twilio, twiml, "#")
    assert "approved" in said(confirmed) and confirmed[-1].tag == "Hangup"
    body = fetch(client, auth, verification)
    assert body["status"] == "approved" and body["call_outcome"] == "approved"
    assert body["fraud_reported"] is False

    # Twilio repeats the same key press: the person hears the same confirmation, nothing changes.
    again = press(twilio, twiml, "#")
    assert "approved" in said(again)
    twilio.post("status", {"CallStatus": "completed", "CallDuration": "12"})
    body = fetch(client, auth, verification)
    assert body["status"] == "approved"
    assert body["send_code_attempts"][0]["outcome"] == "approved"
    assert body["send_code_attempts"][0]["delivery_status"] == "completed"


def test_another_key_repeats_the_instructions(client, auth, acme):
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    twiml = press(twilio, twilio.twiml("answer"), "5")
    assert "not valid" in said(twiml) and "pound key" in said(twiml)
    assert fetch(client, auth, twilio.verification)["status"] == "pending"


def test_three_silent_prompts_end_the_call_unapproved(client, auth, acme):
    verification = start(client, auth, acme, "call_approve")
    twilio = Twilio(client, verification)
    twiml = twilio.twiml("answer")
    for _ in range(3):  # each prompt's <Gather> heard nothing: Twilio follows the <Redirect>
        route, params = twilio.follow(twiml.find("Redirect"))
        twiml = twilio.twiml(route, **params)
    assert "did not receive a key press" in said(twiml) and twiml[-1].tag == "Hangup"
    assert twiml.find("Gather") is None
    body = fetch(client, auth, verification)
    assert body["status"] == "pending" and body["call_outcome"] == "no_key"


def test_zero_then_pound_reports_fraud_and_blocks_the_number(client, auth, acme):
    verification = start(client, auth, acme, "call_approve")
    twilio = Twilio(client, verification)
    confirm = press(twilio, twilio.twiml("answer"), "0")
    assert "report this as fraud" in said(confirm)
    assert fetch(client, auth, verification)["status"] == "pending"  # not until confirmed

    reported = press(twilio, confirm, "#")
    assert "reported as fraud" in said(reported)
    body = fetch(client, auth, verification)
    assert body["status"] == "failed" and body["fraud_reported"] is True
    assert body["call_outcome"] == "fraud_reported"
    twilio.post("status", {"CallStatus": "completed"})
    assert fetch(client, auth, verification)["call_outcome"] == "fraud_reported"

    for channel in ("sms", "call", "call_approve"):
        refused = client.post(f"/v2/Services/{acme['sid']}/Verifications",
                              data={"To": MOBILE, "Channel": channel}, auth=auth)
        assert refused.status_code == 403
        assert refused.get_json()["code"] == 60605
        assert "reported" in refused.get_json()["message"] and "90 more days" in refused.get_json()["message"]
    other = client.post("/v2/Services", data={"FriendlyName": "Other"}, auth=auth).get_json()
    start(client, auth, other, "sms")  # the block is for this service only


def test_zero_then_another_key_goes_back_to_the_instructions(client, auth, acme):
    twilio = Twilio(client, start(client, auth, acme, "call_approve"))
    back = press(twilio, press(twilio, twilio.twiml("answer"), "0"), "1")
    assert "pound key" in said(back)
    assert press(twilio, back, "#") is not None
    assert fetch(client, auth, twilio.verification)["status"] == "approved"


def test_pound_on_a_verification_approved_meanwhile_apologises(client, auth, acme):
    verification = start(client, auth, acme, "call_approve")
    twilio = Twilio(client, verification)
    twiml = twilio.twiml("answer")
    client.post(f"/v2/Services/{acme['sid']}/Verifications/{verification['sid']}", data={"Status": "canceled"},
                auth=auth)
    late = press(twilio, twiml, "#")
    assert "no longer active" in said(late)
    assert fetch(client, auth, verification)["status"] == "canceled"


@pytest.mark.parametrize("key", ["#", "5"])  # approve (decide_by_call), or replay the prompt (call_turn)
def test_a_key_after_expiry_apologises_and_approves_nothing(client, auth, acme, key):
    """Expiry is a matter of time: the call's webhooks see it with nothing written at expiry."""
    with freeze_time("2026-11-24 10:00:00") as clock:
        verification = start(client, auth, acme, "call_approve")
        twilio = Twilio(client, verification)
        twiml = twilio.twiml("answer")
        clock.tick(601)
        late = press(twilio, twiml, key)
        assert "no longer active" in said(late) and late[-1].tag == "Hangup"
        assert late.find("Gather") is None
        assert fetch(client, auth, verification)["status"] == "expired"


def test_the_call_names_the_verification_custom_name_over_the_service(client, auth, acme):
    twilio = Twilio(client, start(client, auth, acme, "call_approve", CustomFriendlyName="Contoso Payroll"))
    prompt = said(twilio.twiml("answer"))
    assert "Contoso Payroll" in prompt and "Acme" not in prompt
    confirm = said(press(twilio, twilio.twiml("answer"), "0"))  # the fraud report's confirmation
    assert "for Contoso Payroll" in confirm and "Acme" not in confirm


def test_an_approve_call_code_can_never_be_checked(client, auth, acme, redis_url):
    """The approve call never tells its code, so even the right code must not approve."""
    verification = start(client, auth, acme, "call_approve")
    stored = redis.Redis.from_url(redis_url, decode_responses=True).hget(
        keys.verification(acme["sid"], verification["sid"]), "sc")
    code = CodeBook(SECRET_KEY).unseal(verification["sid"], stored)
    check = client.post(f"/v2/Services/{acme['sid']}/VerificationCheck",
                        data={"VerificationSid": verification["sid"], "Code": code}, auth=auth).get_json()
    assert check["status"] == "pending" and check["valid"] is False


# --- the code call ------------------------------------------------------------------------------

def test_the_code_is_read_only_after_a_human_verdict(client, auth, acme):
    verification = start(client, auth, acme, "call", to=LANDLINE)
    twilio = Twilio(client, verification)
    twiml = twilio.twiml("answer")
    assert "Acme" in said(twiml) and not re.search(r"\d\.", said(twiml))  # greeting only
    route, params = twilio.follow(twiml.find("Redirect"))
    waiting = twilio.twiml(route, **params)
    assert not re.search(r"\d\.", said(waiting))

    assert twilio.post("amd", {"AnsweredBy": "human"}).status_code == 204
    route, params = twilio.follow(waiting.find("Redirect"))
    reading = twilio.twiml(route, **params)
    spoken = said(reading)
    digits = re.findall(r"(?:\d\. ){5}\d\.", spoken)
    assert len(digits) == 3 and len(set(digits)) == 1  # the same code, digit by digit, three times
    assert "Press 1 to hear it again" in spoken and reading[-1].tag == "Hangup"
    assert len(reading.find("Gather").findall("Pause")) == 3

    code = digits[0].replace(". ", "").rstrip(".")
    assert fetch(client, auth, verification)["call_outcome"] == "code_read"
    again = press(twilio, reading, "1")
    assert said(again).count(spoken_digits(code)) == 3
    check = client.post(f"/v2/Services/{acme['sid']}/VerificationCheck",
                        data={"To": LANDLINE, "Code": code}, auth=auth).get_json()
    assert check["status"] == "approved"


@pytest.mark.parametrize("verdict", ["machine_start", "machine_end_beep", "fax"])
def test_a_machine_never_hears_the_code(client, auth, acme, verdict):
    verification = start(client, auth, acme, "call", to=LANDLINE)
    twilio = Twilio(client, verification)
    waiting = twilio.twiml("answer")
    twilio.post("amd", {"AnsweredBy": verdict})
    route, params = twilio.follow(waiting.find("Redirect"))
    after = twilio.twiml(route, **params)
    assert [node.tag for node in after] == ["Hangup"]
    twilio.post("status", {"CallStatus": "completed", "AnsweredBy": verdict})
    body = fetch(client, auth, verification)
    attempt = body["send_code_attempts"][0]
    assert attempt["answered_by"] == verdict and attempt["outcome"] == "machine"
    assert body["status"] == "pending"


def test_undecided_detection_falls_back_to_a_key_press(client, auth, acme):
    twilio = Twilio(client, start(client, auth, acme, "call", to=LANDLINE))
    twiml = twilio.twiml("answer")
    for _ in range(12):  # detection never answers: after 12 one-second pauses, ask for a key
        route, params = twilio.follow(twiml.find("Redirect"))
        twiml = twilio.twiml(route, **params)
    assert "press any key" in said(twiml) and not re.search(r"\d\.", said(twiml))
    reading = press(twilio, twiml, "7")
    assert len(re.findall(r"(?:\d\. ){5}\d\.", said(reading))) == 3


def test_dtmf_input_required_reads_nothing_until_a_key(client, auth):
    service = client.post("/v2/Services", data={"FriendlyName": "Bank", "DtmfInputRequired": "true"},
                          auth=auth).get_json()
    twilio = Twilio(client, start(client, auth, service, "call", to=LANDLINE))
    twilio.post("amd", {"AnsweredBy": "human"})
    gate = twilio.twiml("answer")
    assert "press any key" in said(gate) and not re.search(r"\d\.", said(gate))
    assert gate.find("Gather").get("numDigits") == "1"
    reading = press(twilio, gate, "#")
    assert len(re.findall(r"(?:\d\. ){5}\d\.", said(reading))) == 3


def test_the_call_speaks_the_verification_language_with_its_voice(client, auth, acme):
    twilio = Twilio(client, start(client, auth, acme, "call_approve", Locale="fr"))
    twiml = twilio.twiml("answer")
    say = twiml.find("Gather").find("Say")
    assert say.get("language") == "fr-FR" and say.get("voice") == "Polly.Lea"
    assert "touche dièse" in say.text


def test_voice_names_are_configurable(redis_url, standin, auth):
    from app import create_app
    from tests.support import make_env
    app = create_app(make_env(redis_url, standin.base_url, BASE, VOICE_NAMES="de=Polly.Daniel, en=Polly.Amy"))
    client = app.test_client()
    service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()
    twilio = Twilio(client, start(client, auth, service, "call_approve", Locale="de"))
    say = twilio.twiml("answer").find("Gather").find("Say")
    assert say.get("voice") == "Polly.Daniel" and say.get("language") == "de-DE"
    assert "Rautetaste" in say.text


# --- call status ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status,outcome", [("busy", "busy"), ("no-answer", "no_answer"), ("failed", "failed"),
                                            ("completed", "hung_up")])
def test_how_a_call_ended_is_recorded(client, auth, acme, status, outcome):
    verification = start(client, auth, acme, "call_approve")
    twilio = Twilio(client, verification)
    for progress in ("initiated", "ringing"):
        assert twilio.post("status", {"CallStatus": progress}).status_code == 204
    assert fetch(client, auth, verification)["send_code_attempts"][0]["delivery_status"] == "ringing"
    twilio.post("status", {"CallStatus": status})
    twilio.post("status", {"CallStatus": "ringing"})  # late and out of order: ignored
    body = fetch(client, auth, verification)
    assert body["send_code_attempts"][0]["delivery_status"] == status
    assert body["call_outcome"] == outcome
    assert body["status"] == "pending"  # a call that went nowhere leaves the verification usable
