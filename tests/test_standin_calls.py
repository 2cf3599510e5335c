"""Tests for the stand-in's Calls resource, call executor and scripted callees.

Driven through the real `twilio` library; the TwiML comes from a small Flask
app of the test's own (VoiceApp) that checks X-Twilio-Signature on every
request. Calls run at time_scale 0.02, so a 5 s Gather timeout lasts 0.1 s;
tests wait on conditions (never on elapsed time) with generous timeouts.
"""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest
import requests
from flask import Flask, request
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server

from tests.support import ROOT
from tests.test_standin import RedirectingHttpClient, _QuietHandler  # one copy of each
from twilio_standin import StandIn
from twilio_standin.twiml import APPLICATION_ERROR

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "standin-test-token"
FROM = "+15557654321"
TO = "+15551234567"
SCALE = 0.02
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class VoiceApp:
    """The application under test's stand-in: serves TwiML per path, refuses
    (403) any request whose signature does not validate, records them all."""

    def __init__(self) -> None:
        self.handlers: dict = {}
        self.requests: list[dict] = []
        self._cond = threading.Condition()
        self._validator = RequestValidator(AUTH_TOKEN)
        app = Flask("voice-app")
        app.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])
        self._server = make_server("127.0.0.1", 0, app, threaded=True,
                                   request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str, handler) -> None:
        """handler(form) -> VoiceResponse | str | (status, body)."""
        self.handlers[path] = handler

    def _serve(self, path: str):
        form = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        signed = request.form.to_dict() if request.method == "POST" else {}
        valid = self._validator.validate(request.url, signed,
                                         request.headers.get("X-Twilio-Signature", ""))
        entry = {"path": "/" + path, "method": request.method, "url": request.url,
                 "form": form, "valid": valid}
        with self._cond:
            self.requests.append(entry)
            self._cond.notify_all()
        if not valid:
            return "bad signature", 403
        handler = self.handlers.get("/" + path)
        result = handler(form) if handler else VoiceResponse()
        if isinstance(result, tuple):
            return result[1], result[0]
        return str(result), 200, {"Content-Type": "text/xml"}

    def got(self, path: str) -> list[dict]:
        with self._cond:
            return [r for r in self.requests if r["path"] == path]

    def wait(self, path: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.got(path)) >= count, timeout):
                raise TimeoutError(f"{len(self.got(path))} of {count} requests to {path}")
            return self.got(path)

    def reset(self) -> None:
        with self._cond:
            self.handlers.clear()
            self.requests.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# One stand-in and one TwiML app for the module (starting servers per test
# costs more than the calls); every test starts from a clean slate.
@pytest.fixture(scope="module")
def standin():
    with StandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=SCALE) as server:
        yield server


@pytest.fixture(scope="module")
def voice_app():
    app = VoiceApp()
    yield app
    app.close()


@pytest.fixture(autouse=True)
def clean_standin(standin):
    standin.clear()  # also hangs up (silently) any call a test left running
    standin.clear_callees()
    standin.clear_faults()


@pytest.fixture
def client(standin):
    return Client(ACCOUNT_SID, AUTH_TOKEN,
                  http_client=RedirectingHttpClient(standin.base_url, timeout=5))


@pytest.fixture
def voice(clean_standin, voice_app):
    voice_app.reset()
    yield voice_app
    assert all(r["valid"] for r in voice_app.requests), "a webhook had a bad signature"


def twiml(*verbs) -> VoiceResponse:
    """VoiceResponse from (method name, args, kwargs) tuples, e.g. ("say", "hi")."""
    response = VoiceResponse()
    for name, *rest in verbs:
        getattr(response, name)(*rest)
    return response


def gather_then(say_after: str = "next verb", **gather) -> VoiceResponse:
    response = VoiceResponse()
    response.gather(**gather).say("press the hash key to approve")
    response.say(say_after)
    return response


def call(client, voice, path="/voice", **kwargs):
    kwargs.setdefault("url", voice.url(path))
    return client.calls.create(to=kwargs.pop("to", TO), from_=FROM, **kwargs)


def types(record: dict) -> list[str]:
    return [event["type"] for event in record["transcript"]]


def events(record: dict, kind: str) -> list[dict]:
    return [event for event in record["transcript"] if event["type"] == kind]


# -- REST: create, fetch, list, errors -------------------------------------------------

def test_create_returns_queued_call_then_completes(client, standin, voice):
    created = call(client, voice)
    assert created.sid.startswith("CA") and len(created.sid) == 34
    assert created.status == "queued" and created.direction == "outbound-api"
    assert (created.to, created._from) == (TO, FROM)
    assert created.account_sid == ACCOUNT_SID and created.api_version == "2010-04-01"
    assert created.date_created is not None  # RFC 2822, parsed by the library
    assert created.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{created.sid}.json"
    assert created.duration is None and created.answered_by is None

    record = standin.wait_for_call_end(created.sid)
    assert record["status"] == "completed" and record["state"] == "ended"
    fetched = client.calls(created.sid).fetch()
    assert fetched.status == "completed" and fetched.end_time is not None
    assert int(fetched.duration) >= 0
    assert standin.requests(TO, resource="Calls")[0]["sid"] == created.sid


def test_fetch_unknown_and_paged_list(client, standin, voice):
    sids = [call(client, voice).sid for _ in range(3)]
    call(client, voice, to="+15550000000")
    for sid in sids:
        standin.wait_for_call_end(sid)
    listed = client.calls.list(to=TO, page_size=2)  # follows next_page_uri
    assert [c.sid for c in listed] == list(reversed(sids))
    raw = requests.get(f"{standin.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
                       auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).json()
    assert len(raw["calls"]) == 4 and raw["page"] == 0
    with pytest.raises(TwilioRestException) as err:
        client.calls("CA" + "0" * 32).fetch()
    assert err.value.status == 404 and err.value.code == 20404


@pytest.mark.parametrize("kwargs, code", [
    ({"to": ""}, 21201),
    ({"to": "not-a-number"}, 21211),
    ({"from_": ""}, 21213),
    ({"url": None}, 21205),
    ({"url": "ftp://example.com/x"}, 21205),
    ({"method": "PUT"}, 21209),
    ({"send_digits": "12x"}, 21206),
    ({"machine_detection": "Sometimes"}, 21200),
    ({"to": "+15005550002"}, 21214),  # a magic number of Twilio's test credentials
])
def test_create_errors(client, standin, voice, kwargs, code):
    args = {"to": TO, "from_": FROM, "url": voice.url("/voice"), **kwargs}
    args = {k: v for k, v in args.items() if v is not None}
    with pytest.raises(TwilioRestException) as err:
        client.calls.create(**args)
    assert err.value.status == 400 and err.value.code == code
    assert standin.calls() == []
    assert [r["code"] for r in standin.requests(resource="Calls")] == [code]


def test_runtime_fault_applies_to_calls_but_not_delivery_faults(client, standin, voice):
    standin.add_fault(TO, delivery="undelivered", times=1)  # SMS-only: a call skips it
    standin.add_fault(TO, http_status=503, times=1)
    with pytest.raises(TwilioRestException) as err:
        call(client, voice)
    assert err.value.status == 503
    created = call(client, voice)
    assert created.status == "queued"
    standin.wait_for_call_end(created.sid)
    assert [f["delivery"] for f in standin.faults()] == ["undelivered"]
    assert [r["http_status"] for r in standin.requests(TO, resource="Calls")] == [503, 201]


def test_fault_given_only_a_code_refuses_calls_with_its_http_status(client, standin, voice):
    standin.add_fault(TO, code=21216, times=1)
    with pytest.raises(TwilioRestException) as err:
        call(client, voice)
    assert (err.value.status, err.value.code) == (400, 21216)
    assert standin.calls() == []


def test_calls_inspection_takes_a_plus_left_unencoded_and_refuses_what_is_no_number(client, standin, voice):
    created = call(client, voice)
    call(client, voice, to="+15550000000")
    # The URL as typed after curl: a + written as is arrives as a space (form decoding).
    for query in ("to=+15551234567", "to=%2B15551234567"):
        listed = requests.get(f"{standin.base_url}/_standin/calls?{query}", timeout=5).json()
        assert [c["sid"] for c in listed] == [created.sid], query
    response = requests.get(f"{standin.base_url}/_standin/calls", params={"to": "15551234567"}, timeout=5)
    assert response.status_code == 400 and "%2B" in response.json()["message"]


def test_inline_twiml_instead_of_url(client, standin):
    created = client.calls.create(to=TO, from_=FROM, twiml=str(twiml(("say", "inline hello"))))
    record = standin.wait_for_call_end(created.sid)
    assert record["said"] == ["inline hello"]
    assert "webhook" not in types(record)


# -- the answer webhook and TwiML verbs ---------------------------------------------------

def test_answer_webhook_params_and_signature(client, standin, voice):
    voice.on("/voice", lambda form: twiml(("say", "hello")))
    created = call(client, voice, url=voice.url("/voice?ref=a%20b&x=1"))
    standin.wait_for_call_end(created.sid)
    [answer] = voice.got("/voice")
    assert answer["method"] == "POST" and answer["valid"]
    assert answer["url"].endswith("/voice?ref=a%20b&x=1")
    assert answer["form"] == {
        "AccountSid": ACCOUNT_SID, "CallSid": created.sid, "From": FROM, "To": TO,
        "CallStatus": "in-progress", "Direction": "outbound-api", "ApiVersion": "2010-04-01"}


def test_answer_webhook_with_get(client, standin, voice):
    created = call(client, voice, url=voice.url("/voice?ref=1"), method="GET")
    standin.wait_for_call_end(created.sid)
    [answer] = voice.got("/voice")
    assert answer["method"] == "GET" and answer["valid"]
    assert answer["form"]["ref"] == "1" and answer["form"]["CallSid"] == created.sid


def test_say_pause_play_and_unknown_verbs_are_recorded(client, standin, voice):
    voice.on("/voice", lambda form: (200, """<?xml version="1.0" encoding="UTF-8"?>
        <Response>
          <Say voice="Polly.Amy" language="en-GB" loop="2">Your code is 1 2 3</Say>
          <Pause length="2"/>
          <Play>https://example.com/beep.mp3</Play>
          <Conference>not a verb the stand-in plays</Conference>
          <Say>Goodbye</Say>
        </Response>"""))
    record = standin.wait_for_call_end(call(client, voice).sid)
    assert types(record) == ["webhook", "say", "pause", "play", "unknown", "say", "hangup"]
    say = events(record, "say")[0]
    assert (say["text"], say["voice"], say["language"], say["loop"]) == \
        ("Your code is 1 2 3", "Polly.Amy", "en-GB", 2)
    assert events(record, "pause")[0]["length"] == 2
    assert events(record, "play")[0]["url"] == "https://example.com/beep.mp3"
    assert record["said"] == ["Your code is 1 2 3", "Goodbye"]
    assert events(record, "hangup")[0]["by"] == "app"  # end of the document


def test_hangup_verb_ends_the_call(client, standin, voice):
    voice.on("/voice", lambda form: twiml(("say", "bye"), ("hangup",), ("say", "never said")))
    record = standin.wait_for_call_end(call(client, voice).sid)
    assert record["said"] == ["bye"]
    assert record["status"] == "completed" and record["ended_by"] == "app"


def test_redirect_resolves_relative_urls(client, standin, voice):
    voice.on("/ivr/start", lambda form: twiml(("redirect", "step2")))
    voice.on("/ivr/step2", lambda form: twiml(("say", "second"), ("redirect", "/ivr/last?n=3",)))
    voice.on("/ivr/last", lambda form: twiml(("say", "last")))
    record = standin.wait_for_call_end(call(client, voice, "/ivr/start").sid)
    assert [r["path"] for r in voice.requests] == ["/ivr/start", "/ivr/step2", "/ivr/last"]
    assert all(r["method"] == "POST" for r in voice.requests)
    assert voice.got("/ivr/last")[0]["url"] == voice.url("/ivr/last?n=3")
    assert [e["url"] for e in events(record, "redirect")] == \
        [voice.url("/ivr/step2"), voice.url("/ivr/last?n=3")]
    assert record["said"] == ["second", "last"]


# -- Gather ---------------------------------------------------------------------------------

def test_gather_without_finish_key_delivers_hash_as_digit(client, standin, voice):
    standin.set_callee(TO, keys=["#"])
    voice.on("/voice", lambda form: gather_then(action="/pressed", finish_on_key="",
                                                  num_digits=1))
    voice.on("/pressed", lambda form: twiml(("say", "approved")))
    record = standin.wait_for_call_end(call(client, voice).sid)
    [pressed] = voice.got("/pressed")
    assert pressed["form"]["Digits"] == "#" and pressed["form"]["CallSid"] == record["sid"]
    assert record["said"] == ["press the hash key to approve", "approved"]  # not "next verb"
    gather = events(record, "gather")[0]
    assert gather["digits"] == "#" and gather["ended"] == "num_digits"
    assert gather["attributes"]["finishOnKey"] == ""
    # The key barged into the prompt: recorded between the prompt and the Gather's end.
    assert types(record).index("keys") < types(record).index("gather")


def test_default_finish_key_ends_gather_and_is_not_in_digits(client, standin, voice):
    standin.set_callee(TO, keys=["123#"])
    voice.on("/voice", lambda form: gather_then(action="/digits", timeout=600))
    record = standin.wait_for_call_end(call(client, voice).sid, timeout=5)
    [digits] = voice.got("/digits")
    assert digits["form"]["Digits"] == "123"
    assert events(record, "gather")[0]["ended"] == "finish_key"  # not the 600 s timeout


def test_only_the_finish_key_is_an_empty_result(client, standin, voice):
    standin.set_callee(TO, keys=["#"])
    voice.on("/voice", lambda form: gather_then(action="/digits", timeout=600))
    record = standin.wait_for_call_end(call(client, voice).sid, timeout=5)
    assert voice.got("/digits") == []
    assert record["said"][-1] == "next verb"
    assert events(record, "gather")[0]["digits"] is None


def test_action_on_empty_result_posts_empty_digits(client, standin, voice):
    standin.set_callee(TO, keys=[None])
    voice.on("/voice", lambda form: gather_then(action="/digits", timeout=2,
                                                  action_on_empty_result=True))
    voice.on("/digits", lambda form: twiml(("say", "nothing pressed")))
    record = standin.wait_for_call_end(call(client, voice).sid)
    [digits] = voice.got("/digits")
    assert digits["form"]["Digits"] == ""
    assert record["said"] == ["press the hash key to approve", "nothing pressed"]
    assert events(record, "gather")[0]["ended"] == "timeout"


def test_gather_timeout_goes_on_to_the_next_verb(client, standin, voice):
    voice.on("/voice", lambda form: gather_then(action="/digits", timeout=3))
    record = standin.wait_for_call_end(call(client, voice).sid)
    assert voice.got("/digits") == []
    assert record["said"] == ["press the hash key to approve", "next verb"]
    assert events(record, "gather")[0]["ended"] == "timeout"


def test_gather_without_action_posts_to_the_current_document(client, standin, voice):
    standin.set_callee(TO, keys=["7"])
    voice.on("/menu", lambda form: twiml(("say", f"got {form['Digits']}")) if "Digits" in form
             else gather_then(num_digits=1))
    record = standin.wait_for_call_end(call(client, voice, "/menu").sid)
    assert [r["form"].get("Digits") for r in voice.got("/menu")] == [None, "7"]
    assert record["said"][-1] == "got 7"


# -- status callbacks and outcomes --------------------------------------------------------

def test_status_callbacks_signed_in_order_with_final_duration(client, standin, voice):
    voice.on("/voice", lambda form: twiml(("pause", 3)))
    created = call(client, voice, status_callback=voice.url("/status?leg=1"),
                   status_callback_event=ALL_EVENTS)
    record = standin.wait_for_call_end(created.sid)
    posted = voice.got("/status")
    assert [r["form"]["CallStatus"] for r in posted] == \
        ["initiated", "ringing", "in-progress", "completed"]
    assert [r["form"]["SequenceNumber"] for r in posted] == ["0", "1", "2", "3"]
    for r in posted:
        assert r["valid"] and r["form"]["CallbackSource"] == "call-progress-events"
        assert r["form"]["CallSid"] == created.sid and r["form"]["Direction"] == "outbound-api"
        assert r["form"]["Timestamp"] and r["url"].endswith("/status?leg=1")
    assert "CallDuration" not in posted[2]["form"]
    assert int(posted[3]["form"]["CallDuration"]) >= 3  # a 3 s Pause, in the callee's seconds
    assert posted[3]["form"]["CallDuration"] == record["duration"]
    assert [(c["event"], c["CallStatus"], c["http_status"]) for c in record["callbacks"]] == [
        ("initiated", "initiated", 200), ("ringing", "ringing", 200),
        ("answered", "in-progress", 200), ("completed", "completed", 200)]


def test_default_status_callback_event_is_completed_only(client, standin, voice):
    created = call(client, voice, status_callback=voice.url("/status"))
    standin.wait_for_call_end(created.sid)
    assert [r["form"]["CallStatus"] for r in voice.got("/status")] == ["completed"]


@pytest.mark.parametrize("callee, status, ringing", [
    ({"answer": "busy"}, "busy", False),
    ({"answer": "failed"}, "failed", False),
    ({"answer": "no-answer"}, "no-answer", True),
    ({"answer": "human", "ring": 30}, "no-answer", True),  # rings past Timeout
])
def test_unanswered_calls(client, standin, voice, callee, status, ringing):
    standin.set_callee(TO, **callee)
    created = call(client, voice, status_callback=voice.url("/status"),
                   status_callback_event=ALL_EVENTS, timeout=10)
    record = standin.wait_for_call_end(created.sid)
    assert record["status"] == status and record["duration"] is None
    assert voice.got("/voice") == []  # never answered: no TwiML requested
    statuses = [r["form"]["CallStatus"] for r in voice.got("/status")]
    assert statuses == ["initiated"] + (["ringing"] if ringing else []) + [status]
    assert voice.got("/status")[-1]["form"]["CallDuration"] == "0"
    assert client.calls(created.sid).fetch().status == status


# -- answering-machine detection -------------------------------------------------------------

@pytest.mark.parametrize("answer, detection, expected", [
    ("human", "Enable", "human"),
    ("machine", "Enable", "machine_start"),
    ("machine", "DetectMessageEnd", "machine_end_beep"),
    ("fax", "Enable", "fax"),
])
def test_synchronous_amd_result_is_in_the_answer_webhook(client, standin, voice, answer,
                                                         detection, expected):
    standin.set_callee(TO, answer=answer)
    created = call(client, voice, machine_detection=detection,
                   status_callback=voice.url("/status"))
    record = standin.wait_for_call_end(created.sid)
    assert voice.got("/voice")[0]["form"]["AnsweredBy"] == expected
    assert record["answered_by"] == expected
    assert types(record)[:2] == ["amd", "webhook"]  # detection first, then the request
    assert voice.got("/status")[0]["form"]["AnsweredBy"] == expected
    assert client.calls(created.sid).fetch().answered_by == expected


def test_detection_slower_than_its_timeout_is_unknown(client, standin, voice):
    standin.set_callee(TO, answer="machine", detection_delay=10)
    created = call(client, voice, machine_detection="Enable", machine_detection_timeout=5)
    standin.wait_for_call_end(created.sid)
    assert voice.got("/voice")[0]["form"]["AnsweredBy"] == "unknown"


def test_async_amd_callback_then_rest_hangup_ends_gather_at_once(client, standin, voice):
    standin.set_callee(TO, answer="machine", detection_delay=2)
    voice.on("/voice", lambda form: gather_then(action="/digits", timeout=600))
    created = call(client, voice, machine_detection="Enable", async_amd="true",
                   async_amd_status_callback=voice.url("/amd"),
                   status_callback=voice.url("/status"))
    [amd] = voice.wait("/amd")
    assert amd["valid"] and amd["form"] == {
        "AccountSid": ACCOUNT_SID, "CallSid": created.sid, "AnsweredBy": "machine_start",
        "MachineDetectionDuration": "2000"}
    assert "AnsweredBy" not in voice.got("/voice")[0]["form"]  # the answer request went first
    assert standin.call(created.sid)["gathering"]  # TwiML kept running during detection

    updated = client.calls(created.sid).update(status="completed")
    assert updated.status == "completed"
    record = standin.wait_for_call_end(created.sid, timeout=5)  # the Gather had 600 s left
    assert events(record, "gather")[0]["ended"] == "hangup"
    assert record["ended_by"] == "api" and record["said"][-1] != "next verb"
    assert [(c["params"]["AnsweredBy"], c["http_status"]) for c in record["amd_callbacks"]] == \
        [("machine_start", 200)]
    final = voice.got("/status")[-1]["form"]
    assert final["CallStatus"] == "completed" and final["AnsweredBy"] == "machine_start"


def test_send_digits_are_dialled_before_the_answer_webhook(client, standin, voice):
    standin.set_callee(TO, answer="machine")
    created = call(client, voice, send_digits="ww1234#", machine_detection="Enable")
    record = standin.wait_for_call_end(created.sid)
    assert types(record)[:2] == ["send_digits", "webhook"]
    assert events(record, "send_digits")[0]["digits"] == "ww1234#"
    assert record["send_digits"] == "ww1234#"
    # Twilio ignores MachineDetection when SendDigits is given.
    assert record["answered_by"] is None and "AnsweredBy" not in voice.got("/voice")[0]["form"]


# -- REST updates -------------------------------------------------------------------------

def test_update_with_twiml_replaces_a_live_gather(client, standin, voice):
    voice.on("/voice", lambda form: gather_then(action="/digits", timeout=600))
    created = call(client, voice)
    standin.wait_for_gather(created.sid)
    client.calls(created.sid).update(twiml=str(twiml(("say", "replaced"))))
    record = standin.wait_for_call_end(created.sid, timeout=5)
    assert record["said"] == ["press the hash key to approve", "replaced"]
    assert events(record, "gather")[0]["ended"] == "redirect"
    assert events(record, "redirect")[0]["by"] == "api"
    assert voice.got("/digits") == []


def test_update_with_url_fetches_new_twiml(client, standin, voice):
    voice.on("/voice", lambda form: twiml(("pause", 600)))
    voice.on("/other", lambda form: twiml(("say", "from the other url")))
    created = call(client, voice)
    voice.wait("/voice")
    client.calls(created.sid).update(url=voice.url("/other"), method="GET")
    record = standin.wait_for_call_end(created.sid, timeout=5)
    assert voice.got("/other")[0]["method"] == "GET"
    assert record["said"] == ["from the other url"]


def test_update_of_a_finished_call_is_21220(client, standin, voice):
    created = call(client, voice)
    standin.wait_for_call_end(created.sid)
    with pytest.raises(TwilioRestException) as err:
        client.calls(created.sid).update(twiml="<Response><Say>late</Say></Response>")
    assert err.value.status == 400 and err.value.code == 21220
    with pytest.raises(TwilioRestException) as err:
        client.calls(created.sid).update(status="completed")
    assert err.value.code == 21220


def test_cancel_a_ringing_call(client, standin, voice):
    standin.set_callee(TO, answer="interactive")
    created = call(client, voice, status_callback=voice.url("/status"))
    assert client.calls(created.sid).update(status="canceled").status == "canceled"
    record = standin.wait_for_call_end(created.sid)
    assert record["status"] == "canceled" and record["ended_by"] == "api"
    assert voice.got("/voice") == []
    assert voice.got("/status")[-1]["form"]["CallStatus"] == "canceled"


# -- the callee hangs up, time limits, application errors --------------------------------------

def test_callee_hangs_up_mid_call(client, standin, voice):
    standin.set_callee(TO, hangup_after=2)
    voice.on("/voice", lambda form: twiml(("say", "a long message"), ("pause", 600)))
    created = call(client, voice, status_callback=voice.url("/status"))
    record = standin.wait_for_call_end(created.sid, timeout=5)
    assert record["status"] == "completed" and record["ended_by"] == "callee"
    assert [e["by"] for e in events(record, "hangup")] == ["callee"]
    assert record["said"] == ["a long message"]
    assert voice.got("/status")[0]["form"]["CallStatus"] == "completed"


def test_callee_hangs_up_during_a_gather(client, standin, voice):
    standin.set_callee(TO, keys=["hangup"])
    voice.on("/voice", lambda form: gather_then(action="/digits", timeout=600))
    record = standin.wait_for_call_end(call(client, voice).sid, timeout=5)
    assert record["ended_by"] == "callee" and events(record, "gather")[0]["ended"] == "hangup"


def test_time_limit_ends_the_call(client, standin, voice):
    voice.on("/voice", lambda form: twiml(("pause", 600)))
    record = standin.wait_for_call_end(call(client, voice, time_limit=3).sid, timeout=5)
    assert record["status"] == "completed" and record["ended_by"] == "time_limit"


@pytest.mark.parametrize("answer", [(500, "oops"), (200, "this is not xml"),
                                    (200, "<html><body>hi</body></html>")])
def test_application_error_is_spoken_then_hangs_up(client, standin, voice, answer):
    voice.on("/voice", lambda form: answer)
    record = standin.wait_for_call_end(call(client, voice).sid)
    assert types(record) == ["webhook", "application_error", "say", "hangup"]
    assert record["said"] == [APPLICATION_ERROR]
    assert record["status"] == "completed"
    assert events(record, "application_error")[0]["detail"]


def test_unreachable_url_is_an_application_error(client, standin):
    created = client.calls.create(to=TO, from_=FROM, url="http://127.0.0.1:9/voice")
    record = standin.wait_for_call_end(created.sid)
    assert events(record, "webhook")[0]["error"]
    assert record["said"] == [APPLICATION_ERROR]


# -- interactive callee and the control API -------------------------------------------------------

def test_interactive_callee_via_control_api(client, standin, voice):
    api = f"{standin.base_url}/_standin"
    response = requests.post(f"{api}/callees", json={"number": TO, "answer": "interactive"},
                             timeout=5)
    assert response.status_code == 201 and response.json()["answer"] == "interactive"
    voice.on("/voice", lambda form: gather_then(action="/pressed", finish_on_key="",
                                                  num_digits=1))
    voice.on("/pressed", lambda form: twiml(("say", "thanks"), ("pause", 600)))
    created = call(client, voice, status_callback=voice.url("/status"))

    listed = requests.get(f"{api}/calls", params={"to": TO}, timeout=5).json()
    assert [c["sid"] for c in listed] == [created.sid]
    assert requests.post(f"{api}/calls/{created.sid}/answer", json={"as": "human"},
                         timeout=5).status_code == 200
    assert standin.wait_for_gather(created.sid)["gather"]["numDigits"] == "1"
    pressed = requests.post(f"{api}/calls/{created.sid}/digits", json={"digits": "#"}, timeout=5)
    assert pressed.status_code == 200 and pressed.json()["delivered"] is True
    assert voice.wait("/pressed")[0]["form"]["Digits"] == "#"
    # No Gather runs any more: the key is lost, as on a real phone.
    late = requests.post(f"{api}/calls/{created.sid}/digits", json={"digits": "5"}, timeout=5)
    assert late.json()["delivered"] is False
    assert requests.post(f"{api}/calls/{created.sid}/hangup", timeout=5).status_code == 200

    record = standin.wait_for_call_end(created.sid)
    assert record["status"] == "completed" and record["ended_by"] == "callee"
    assert [(e["digits"], e["delivered"]) for e in events(record, "keys")] == \
        [("#", True), ("5", False)]
    fetched = requests.get(f"{api}/calls/{created.sid}", timeout=5).json()
    assert fetched["said"] == record["said"] and fetched["state"] == "ended"
    again = requests.post(f"{api}/calls/{created.sid}/hangup", timeout=5)
    assert again.status_code == 409
    assert requests.post(f"{api}/calls/CA{'0' * 32}/answer", timeout=5).status_code == 404


def test_interactive_callee_as_voicemail_and_decline(client, standin, voice):
    standin.set_callee(TO, answer="interactive")
    first = call(client, voice, machine_detection="Enable")
    standin.answer_call(first.sid, as_="machine")
    assert standin.wait_for_call_end(first.sid)["answered_by"] == "machine_start"

    second = call(client, voice)
    standin.decline_call(second.sid)
    assert standin.wait_for_call_end(second.sid)["status"] == "busy"


def test_interactive_callee_nobody_answers(client, standin, voice):
    standin.set_callee(TO, answer="interactive")
    record = standin.wait_for_call_end(call(client, voice, timeout=5).sid)
    assert record["status"] == "no-answer"


def test_callee_scripts_management(standin):
    api = f"{standin.base_url}/_standin/callees"
    standin.set_callee(TO, answer="machine", keys=["1", None, "hangup"])
    assert requests.get(api, timeout=5).json() == [{
        "number": TO, "answer": "machine", "ring": 0.5, "detection_delay": 1.0,
        "keys": ["1", None, "hangup"], "key_delay": 0.3, "hangup_after": None}]
    bad = requests.post(api, json={"number": TO, "answer": "maybe"}, timeout=5)
    assert bad.status_code == 400
    with pytest.raises(ValueError):
        standin.set_callee(TO, keys=["12x"])
    standin.clear()  # forgets calls, not callee scripts
    assert len(standin.callees()) == 1
    assert requests.delete(api, timeout=5).status_code == 204
    assert standin.callees() == []


def test_clear_hangs_up_running_calls(client, standin, voice):
    voice.on("/voice", lambda form: twiml(("pause", 600)))
    created = call(client, voice)
    voice.wait("/voice")
    standin.clear()
    assert standin.calls() == [] and standin.call(created.sid) is None
    with pytest.raises(TwilioRestException):
        client.calls(created.sid).fetch()
    voice.on("/voice", lambda form: twiml(("say", "hello again")))
    again = call(client, voice)  # still fully working
    assert standin.wait_for_call_end(again.sid)["status"] == "completed"


def test_stop_ends_running_calls(voice):
    with StandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=1.0) as server:
        client = Client(ACCOUNT_SID, AUTH_TOKEN,
                        http_client=RedirectingHttpClient(server.base_url, timeout=5))
        voice.on("/voice", lambda form: twiml(("pause", 600)))
        created = call(client, voice)
        voice.wait("/voice")
    record = server.call(created.sid)
    assert record["state"] == "ended" and record["ended_by"] == "standin"
    assert record["finished"]


def test_module_help_mentions_call_flags():
    result = subprocess.run([sys.executable, "-m", "twilio_standin", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "--time-scale" in result.stdout and "--default-callee" in result.stdout
