"""A slow Twilio holds at most TWILIO_THREADS_PER_WORKER of a process's threads
(verify/twilio/slots.py): a start that finds no slot free answers 503 at once and changes
nothing, a machine verdict is hung up at the call's next webhook, and under gunicorn checks keep
answering while every slot waits on Twilio."""
from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
import redis
import requests
from twilio.request_validator import RequestValidator

from tests.support import API_KEY, API_SECRET, AUTH_TOKEN, LANDLINE, MOBILE, Gunicorn, LiveServer, make_env

AUTH = (API_KEY, API_SECRET)
HOLDER = "+447400100001"  # the number whose slow text holds the one slot
OTHER = "+447400100002"
THIRD = "+447400100003"
IMMEDIATE = 1.0  # seconds: "at once", with room for a busy machine
TIMEOUT = 3  # TWILIO_TIMEOUT_SECONDS


@pytest.fixture
def one_slot(redis_url, standin):
    """telverify over HTTP with one carrier slot, and a service."""
    with LiveServer(lambda url: make_env(redis_url, standin.base_url, url, TWILIO_THREADS_PER_WORKER="1",
                                         TWILIO_TIMEOUT_SECONDS=str(TIMEOUT))) as server:
        server.service = requests.post(f"{server.url}/v2/Services", data={"FriendlyName": "Acme"},
                                       auth=AUTH).json()["sid"]
        yield server


def start(server, to: str, channel: str = "sms") -> requests.Response:
    return requests.post(f"{server.url}/v2/Services/{server.service}/Verifications",
                         data={"To": to, "Channel": channel}, auth=AUTH, timeout=30)


def fetch(server, sid: str) -> dict:
    return requests.get(f"{server.url}/v2/Services/{server.service}/Verifications/{sid}", auth=AUTH).json()


@contextmanager
def slot_held(server, standin, seconds: float = 2.0):
    """A text to HOLDER that Twilio answers after `seconds`, started in a thread: inside the
    block its request is at the stand-in, so it holds the slot. It ends sent."""
    standin.add_fault(HOLDER, delay=seconds, times=1)
    answers = []
    thread = threading.Thread(target=lambda: answers.append(start(server, HOLDER)))
    thread.start()
    deadline = time.monotonic() + 10
    while standin.faults():  # taken when the request reaches the stand-in
        assert time.monotonic() < deadline, "the held text never reached the stand-in"
        time.sleep(0.01)
    try:
        yield
    finally:
        thread.join(30)
    assert answers and answers[0].status_code == 201, answers and answers[0].text


def timed(call):
    began = time.monotonic()
    answer = call()
    return answer, time.monotonic() - began


def assert_no_slot(answer: requests.Response, took: float, timeout: int = TIMEOUT) -> None:
    assert answer.status_code == 503 and took < IMMEDIATE, (answer.status_code, took)
    body = answer.json()
    assert (body["code"], body["status"]) == (20503, 503), body
    assert set(body) == {"code", "message", "more_info", "status"}
    assert "waiting on Twilio for as many sends as it allows" in body["message"]
    assert "nothing was sent or counted" in body["message"]
    assert 1 <= int(answer.headers["Retry-After"]) <= timeout  # TWILIO_TIMEOUT_SECONDS at most


def test_a_start_with_no_slot_free_is_refused_at_once_and_nothing_is_stored_or_counted(one_slot, standin,
                                                                                         redis_url):
    db = redis.Redis.from_url(redis_url)
    # Two sends a minute for the service, so that a send counted by mistake shows.
    assert requests.post(f"{one_slot.url}/v2/Services/{one_slot.service}", auth=AUTH,
                         data={"LimitSendsPerService": "2 per minute"}).status_code == 200
    with slot_held(one_slot, standin):
        before = {key: db.dump(key) for key in db.keys()}
        answer, took = timed(lambda: start(one_slot, OTHER))
        assert_no_slot(answer, took)
        assert {key: db.dump(key) for key in db.keys()} == before  # nothing stored, no limit counted
    assert standin.requests(OTHER) == []  # nothing reached Twilio
    # Once the slot is free the same start goes out, as a new verification; with the held text
    # it is the service's second send of the minute, the last its limit allows: the refused
    # one was not counted.
    answer = start(one_slot, OTHER)
    assert answer.status_code == 201 and len(answer.json()["send_code_attempts"]) == 1, answer.text
    refused = start(one_slot, THIRD)
    assert (refused.status_code, refused.json()["code"]) == (429, 20429), refused.text


def test_a_resend_with_no_slot_free_leaves_the_verification_as_it_was(one_slot, standin):
    sid = start(one_slot, OTHER).json()["sid"]
    with slot_held(one_slot, standin):
        assert_no_slot(*timed(lambda: start(one_slot, OTHER)))
        after = fetch(one_slot, sid)
        assert after["status"] == "pending" and len(after["send_code_attempts"]) == 1
    assert len(standin.requests(OTHER)) == 1


def test_a_call_with_no_slot_free_is_refused_alike(one_slot, standin, nobody_answers):
    with slot_held(one_slot, standin):
        assert_no_slot(*timed(lambda: start(one_slot, LANDLINE, "call_approve")))
    assert standin.requests(LANDLINE) == []


def test_the_slot_is_given_back_whatever_twilio_answers(one_slot, standin):
    """Refusals, failures and timeouts each give the one slot back: the next start goes out."""
    standin.add_fault(OTHER, http_status=500, times=1)
    assert start(one_slot, OTHER).status_code == 503  # Twilio failed
    standin.add_fault(OTHER, code=21211, times=1)
    assert start(one_slot, OTHER).status_code == 400  # Twilio refused the number
    standin.add_fault(OTHER, http_status=429, retry_after=7, times=1)
    assert start(one_slot, OTHER).headers["Retry-After"] == "7"  # Twilio's own 429
    standin.add_fault(OTHER, delay=TIMEOUT + 0.5, times=1)
    assert start(one_slot, OTHER).status_code == 503  # past TWILIO_TIMEOUT_SECONDS
    assert start(one_slot, "+4474001").status_code == 400  # refused before a slot is taken
    answer = start(one_slot, OTHER)
    assert answer.status_code == 201, answer.text


def signed_post(server, route: str, verification: dict, form: dict, **query) -> requests.Response:
    """A voice webhook as Twilio sends it, signed for the server's PUBLIC_BASE_URL."""
    query = {"service": verification["service_sid"], "verification": verification["sid"], "attempt": 1, **query}
    url = f"{server.url}/voice/{route}?{urlencode(query)}"
    form = {"AccountSid": "AC" + "0" * 32, "CallSid": verification["send_code_attempts"][0]["call_sid"],
            "CallStatus": "in-progress", **form}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    return requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)


def test_a_machine_verdict_with_no_slot_free_is_hung_up_at_the_calls_next_webhook(one_slot, standin,
                                                                                   nobody_answers, caplog):
    """The webhook does not wait for a slot: it records the verdict and answers at once, and the
    call's next request for TwiML is told to hang up, having heard nothing but the greeting."""
    # Ringing all through the test: a call that ended unanswered first would take no verdict.
    standin.set_callee(LANDLINE, answer="no-answer", ring=15)
    verification = start(one_slot, LANDLINE, "call").json()
    with slot_held(one_slot, standin):
        answer, took = timed(lambda: signed_post(one_slot, "amd", verification, {"AnsweredBy": "machine_start"}))
        assert answer.status_code == 204 and took < IMMEDIATE, (answer.status_code, took)
        step = signed_post(one_slot, "step", verification, {}, step="detect", round=2)
        assert step.status_code == 200 and [node.tag for node in ET.fromstring(step.text)] == ["Hangup"]
    assert "left to hang up at its next webhook: every Twilio slot is busy" in caplog.text
    attempt = fetch(one_slot, verification["sid"])["send_code_attempts"][0]
    assert (attempt["answered_by"], attempt["outcome"]) == ("machine_start", "machine")


def test_under_gunicorn_checks_keep_answering_while_every_slot_waits_on_a_slow_twilio(tmp_path, redis_url, standin):
    """One worker of 8 threads, so 6 slots. With Twilio answering after 3 s, 80 simultaneous
    starts: 6 wait and go out, 74 answer 503 at once, and a stream of checks beside them keeps
    answering in well under a second; no worker is killed."""
    delay, timeout, starts = 3.0, 6, 80
    numbers = [f"+4474002{index:05d}" for index in range(starts)]
    with Gunicorn(tmp_path, lambda url: make_env(redis_url, standin.base_url, url, TWILIO_TIMEOUT_SECONDS=str(timeout)),
                  GUNICORN_THREADS="8") as server:
        service = requests.post(f"{server.url}/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH).json()["sid"]
        base = f"{server.url}/v2/Services/{service}"
        assert requests.post(f"{base}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                             auth=AUTH).status_code == 201
        standin.send_delay = delay

        checks, stop = [], threading.Event()

        def check_stream():
            while not stop.is_set():
                answer, took = timed(lambda: requests.post(f"{base}/VerificationCheck", auth=AUTH, timeout=30,
                                                           data={"To": MOBILE, "Code": "0000000"}))
                checks.append((answer.status_code, answer.json().get("code"), took))
                time.sleep(0.02)

        barrier, created = threading.Barrier(starts), [None] * starts

        def create(index):
            barrier.wait()
            created[index] = timed(lambda: requests.post(f"{base}/Verifications", auth=AUTH, timeout=30,
                                                         data={"To": numbers[index], "Channel": "sms"}))

        stream = threading.Thread(target=check_stream)
        stream.start()
        time.sleep(0.3)
        creators = [threading.Thread(target=create, args=(index,)) for index in range(starts)]
        for thread in creators:
            thread.start()
        for thread in creators:
            thread.join(30)
        time.sleep(0.3)
        stop.set()
        stream.join(30)
        log = server.log()

    assert Counter(answer.status_code for answer, _ in created) == Counter({201: 6, 503: 74})
    for answer, took in created:
        if answer.status_code == 503:
            assert_no_slot(answer, took, timeout)
        else:
            assert took >= delay  # it waited on Twilio
    assert sum(len(standin.requests(number)) for number in numbers) == 6  # the refused never reached Twilio
    # Wrong codes: 200 while the verification takes them, then 429 60202 once its attempts are used.
    assert {(status, code) for status, code, _ in checks} <= {(200, None), (429, 60202)}, checks
    latencies = sorted(took for _, _, took in checks)
    assert len(latencies) >= 20 and latencies[-1] < 1.0, latencies[-5:]
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log, log
