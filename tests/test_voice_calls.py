"""Whole calls, end to end: the `twilio` SDK starts the verification on a live telverify, the
local stand-in places the call, runs our TwiML with a scripted callee (keys, silence, busy,
a machine), and the application polls the verification as it would in production."""
from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.support import API_KEY, API_SECRET, CODE_READING, LANDLINE, MOBILE, application_errors, run_call
from voice.speech import spoken_digits

DESK_PHONE = "+1 212 555 0123 x123"
DESK_E164 = "+12125550123"


@pytest.fixture(autouse=True)
def no_application_errors(standin):
    """Twilio reads any failed webhook aloud as "an application error has occurred": never."""
    yield
    errors = application_errors(standin)
    assert not errors, errors
    standin.clear_callees()


def poll(live, verification) -> dict:
    """What a relying application sees (with telverify's extra fields) when it polls."""
    url = f"{live.url}/v2/Services/{verification.service_sid}/Verifications/{verification.sid}"
    answer = requests.get(url, auth=(API_KEY, API_SECRET), timeout=5)
    assert answer.status_code == 200
    return answer.json()


def test_pressing_pound_approves(live, sdk, service, standin):
    standin.set_callee(MOBILE, answer="human", keys=["#"])
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="call_approve")
    assert verification.status == "pending" and verification.channel == "call_approve"

    call = run_call(standin, MOBILE)
    assert call["status"] == "completed"
    assert "Thank you for using the Acme sign-in verification system" in call["said"][0]
    assert call["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."
    gather = next(e for e in call["transcript"] if e["type"] == "gather")
    assert gather["digits"] == "#"

    assert sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch().status == "approved"
    body = poll(live, verification)
    assert body["call_outcome"] == "approved"
    assert body["send_code_attempts"][0]["call_sid"] == call["sid"]
    assert body["send_code_attempts"][0]["delivery_status"] == "completed"


def test_reporting_fraud_blocks_the_number(live, sdk, service, standin):
    standin.set_callee(MOBILE, answer="human", keys=["0", "#"])
    verifications = sdk.verify.v2.services(service.sid).verifications
    verification = verifications.create(to=MOBILE, channel="call_approve")
    call = run_call(standin, MOBILE)
    assert "reported as fraud" in call["said"][-1]

    body = poll(live, verification)
    assert body["status"] == "failed" and body["fraud_reported"] is True and body["call_outcome"] == "fraud_reported"
    with pytest.raises(TwilioRestException) as refused:
        verifications.create(to=MOBILE, channel="sms")
    assert refused.value.status == 403 and refused.value.code == 60605
    assert len(standin.calls(MOBILE)) == 1 and standin.messages(MOBILE) == []  # nothing more reached Twilio


def test_silence_ends_the_call_unapproved(live, sdk, service, standin):
    standin.set_callee(MOBILE, answer="human", keys=[])
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="call_approve")
    call = run_call(standin, MOBILE)
    prompts = [text for text in call["said"] if "press the pound key" in text]
    assert len(prompts) == 3
    assert call["said"][-1].startswith("We did not receive a key press")
    body = poll(live, verification)
    assert body["status"] == "pending" and body["call_outcome"] == "no_key"


def test_hanging_up_before_choosing_is_told_apart(live, sdk, service, standin):
    standin.set_callee(MOBILE, answer="human", keys=["hangup"])
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="call_approve")
    run_call(standin, MOBILE)
    body = poll(live, verification)
    assert body["status"] == "pending" and body["call_outcome"] == "hung_up"


@pytest.mark.parametrize("answer,outcome", [("busy", "busy"), ("no-answer", "no_answer"), ("failed", "failed")])
def test_calls_that_never_connect_are_told_apart(live, sdk, service, standin, answer, outcome):
    standin.set_callee(LANDLINE, answer=answer)
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=LANDLINE, channel="call_approve")
    call = run_call(standin, LANDLINE)
    assert call["status"] == answer and call["said"] == []
    body = poll(live, verification)
    assert body["status"] == "pending" and body["call_outcome"] == outcome
    assert body["send_code_attempts"][0]["delivery_status"] == answer


def test_a_machine_on_an_approve_call_is_hung_up(live, sdk, service, standin):
    standin.set_callee(LANDLINE, answer="machine")
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=LANDLINE, channel="call_approve")
    call = run_call(standin, LANDLINE)
    assert call["answered_by"].startswith("machine")
    hangups = [e for e in call["transcript"] if e["type"] == "hangup"]
    assert hangups and hangups[-1]["by"] == "api"  # telverify hung up through Twilio's API at the verdict
    body = poll(live, verification)
    assert body["status"] == "pending" and body["call_outcome"] == "machine"
    assert body["send_code_attempts"][0]["answered_by"].startswith("machine")


def test_the_code_call_reads_the_code_the_person_then_types(live, sdk, service, standin):
    standin.set_callee(LANDLINE, answer="human", keys=[])
    verifications = sdk.verify.v2.services(service.sid)
    verification = verifications.verifications.create(to=LANDLINE, channel="call")
    call = run_call(standin, LANDLINE)
    readings = [text for text in call["said"] if CODE_READING.fullmatch(text)]
    assert len(readings) == 3 and len(set(readings)) == 1
    code = readings[0].replace(". ", "").rstrip(".")
    assert len(code) == 6 and readings[0] == spoken_digits(code)
    assert call["said"][-1] == "Goodbye."
    assert poll(live, verification)["call_outcome"] == "code_read"

    check = verifications.verification_checks.create(to=LANDLINE, code=code)
    assert check.status == "approved"


def test_a_machine_never_hears_the_code(live, sdk, service, standin):
    standin.set_callee(LANDLINE, answer="machine")
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=LANDLINE, channel="call")
    call = run_call(standin, LANDLINE)
    assert not any(CODE_READING.search(text) for text in call["said"])
    assert poll(live, verification)["call_outcome"] == "machine"


def test_dtmf_input_required_waits_for_a_key(live, sdk, standin):
    service = sdk.verify.v2.services.create(friendly_name="Bank", dtmf_input_required=True)
    standin.set_callee(LANDLINE, answer="human", keys=["5"])
    sdk.verify.v2.services(service.sid).verifications.create(to=LANDLINE, channel="call")
    call = run_call(standin, LANDLINE)
    assert "press any key" in call["said"][0] and not CODE_READING.search(call["said"][0])
    assert len([text for text in call["said"] if CODE_READING.fullmatch(text)]) == 3


def test_an_extension_in_to_is_dialled_by_the_switchboard(live, sdk, service, standin):
    standin.set_callee(DESK_E164, answer="human", keys=["#"])
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=DESK_PHONE, channel="call_approve")
    assert verification.to == DESK_E164
    call = run_call(standin, DESK_E164)
    assert call["send_digits"] == "wwww123"
    kinds = [event["type"] for event in call["transcript"]]
    assert kinds.index("send_digits") < kinds.index("webhook")  # dialled before the call speaks
    assert poll(live, verification)["status"] == "approved"


def test_send_digits_reach_the_call(live, sdk, service, standin):
    standin.set_callee(LANDLINE, answer="human", keys=["#"])
    sdk.verify.v2.services(service.sid).verifications.create(to=LANDLINE, channel="call_approve",
                                                             send_digits="ww4021#")
    assert run_call(standin, LANDLINE)["send_digits"] == "ww4021#"


def test_the_call_speaks_the_persons_language(live, sdk, service, standin):
    standin.set_callee(MOBILE, answer="human", keys=["#"])
    sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="call_approve", locale="es")
    call = run_call(standin, MOBILE)
    says = [e for e in call["transcript"] if e["type"] == "say"]
    assert {e["language"] for e in says} == {"es-ES"}
    assert "almohadilla" in says[0]["text"] and "aprobado" in says[-1]["text"]


@pytest.mark.parametrize("code,status,ours", [(21215, 403, 60605), (21216, 403, 60605), (21211, 400, 60200)])
def test_twilio_refusing_the_call_is_a_clear_error(live, sdk, service, standin, code, status, ours):
    standin.add_fault(to=MOBILE, http_status=400, code=code)
    with pytest.raises(TwilioRestException) as refused:
        sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="call_approve")
    assert refused.value.status == status and refused.value.code == ours
    # a permanent refusal leaves nothing behind: checking finds no verification
    with pytest.raises(TwilioRestException) as missing:
        sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code="123456")
    assert missing.value.status == 404


def test_twilio_failing_leaves_the_verification_usable(live, sdk, service, standin):
    standin.add_fault(to=MOBILE, http_status=500, times=1)
    verifications = sdk.verify.v2.services(service.sid).verifications
    with pytest.raises(TwilioRestException) as failed:
        verifications.create(to=MOBILE, channel="call_approve")
    assert failed.value.status == 503 and failed.value.code == 20503
    standin.set_callee(MOBILE, answer="human", keys=["#"])
    verification = verifications.create(to=MOBILE, channel="call_approve")
    assert len(verification.send_code_attempts) == 1  # the failed send did not count
    run_call(standin, MOBILE)
    assert poll(live, verification)["status"] == "approved"


def test_a_locked_number_can_still_approve_with_pound(live, sdk, service, standin):
    """A lockout stops code guessing: while it lasts no code is sent or checked. A # pressed on
    the person's own phone cannot be guessed, so an approve call still goes through."""
    verifications = sdk.verify.v2.services(service.sid)
    for _ in range(2):  # two verifications, five wrong codes each: the default ten failures
        verifications.verifications.create(to=MOBILE, channel="sms")
        for _ in range(5):
            verifications.verification_checks.create(to=MOBILE, code="000000")
    for channel in ("sms", "call"):
        with pytest.raises(TwilioRestException) as refused:
            verifications.verifications.create(to=MOBILE, channel=channel)
        assert (refused.value.status, refused.value.code) == (429, 60202)
        assert "locked" in refused.value.msg
    standin.set_callee(MOBILE, answer="human", keys=["#"])
    verification = verifications.verifications.create(to=MOBILE, channel="call_approve")
    call = run_call(standin, MOBILE)
    assert call["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."
    assert verifications.verifications(verification.sid).fetch().status == "approved"
