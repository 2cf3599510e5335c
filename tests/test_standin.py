"""Tests for twilio_standin, driven through the real `twilio` library.

No Redis or app code needed: the stand-in runs in-process on a free port and
the twilio Client's requests are redirected to it.
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.support import ROOT
from twilio_standin import StandIn

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "standin-test-token"
FROM = "+15557654321"
TO = "+15551234567"


class RedirectingHttpClient(TwilioHttpClient):
    """Sends every request the twilio library makes to the stand-in instead."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self._target = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)._replace(scheme=self._target.scheme, netloc=self._target.netloc)
        return super().request(method, urlunsplit(parts), *args, **kwargs)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class CallbackReceiver:
    """Tiny webhook endpoint recording each status callback it gets."""

    def __init__(self, status: int = 200):
        self.status = status
        self.calls: list[dict] = []
        self._cond = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True,
                                   request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @Request.application
    def _app(self, request: Request) -> Response:
        with self._cond:
            self.calls.append({"url": request.url, "form": request.form,
                               "signature": request.headers.get("X-Twilio-Signature")})
            self._cond.notify_all()
        return Response("<Response/>", status=self.status, mimetype="text/xml")

    def wait(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= count, timeout):
                raise TimeoutError(f"only {len(self.calls)} of {count} callbacks arrived")
            return list(self.calls)


@pytest.fixture
def standin():
    with StandIn(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def client(standin):
    return Client(ACCOUNT_SID, AUTH_TOKEN,
                  http_client=RedirectingHttpClient(standin.base_url, timeout=5))


@pytest.fixture
def receiver():
    recv = CallbackReceiver()
    recv._thread.start()
    yield recv
    recv._server.shutdown()
    recv._server.server_close()


def assert_signed(call: dict) -> None:
    assert call["signature"]
    assert RequestValidator(AUTH_TOKEN).validate(call["url"], call["form"], call["signature"])


# -- creating and reading messages --------------------------------------------

def test_create_returns_queued_message_and_records_it(client, standin):
    message = client.messages.create(to=TO, from_=FROM, body="Your code is 123456")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.account_sid == ACCOUNT_SID
    assert message.direction == "outbound-api" and message.num_segments == "1"
    assert message.date_created is not None  # parsed from RFC 2822 by the library
    assert message.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}.json"

    recorded = standin.wait_for_message(TO)
    assert recorded["sid"] == message.sid
    assert recorded["body"] == "Your code is 123456"
    assert recorded["from"] == FROM


def test_messaging_service_sid_instead_of_from(client, standin):
    message = client.messages.create(to=TO, messaging_service_sid="MG" + "0" * 32, body="hi")
    assert message.messaging_service_sid == "MG" + "0" * 32
    assert standin.messages(TO)[0]["from"] is None


def test_fetch_and_paged_list(client):
    sids = [client.messages.create(to=TO, from_=FROM, body=f"m{i}").sid for i in range(3)]
    client.messages.create(to="+15550000000", from_=FROM, body="other")
    assert client.messages(sids[0]).fetch().body == "m0"
    listed = client.messages.list(to=TO, page_size=2)  # follows next_page_uri
    assert [m.sid for m in listed] == list(reversed(sids))  # newest first, like Twilio
    with pytest.raises(TwilioRestException) as err:
        client.messages("SM" + "0" * 32).fetch()
    assert err.value.status == 404 and err.value.code == 20404


# -- request errors ------------------------------------------------------------

def test_wrong_credentials_give_401_20003(standin):
    bad = Client(ACCOUNT_SID, "wrong-token",
                 http_client=RedirectingHttpClient(standin.base_url, timeout=5))
    with pytest.raises(TwilioRestException) as err:
        bad.messages.create(to=TO, from_=FROM, body="x")
    assert err.value.status == 401 and err.value.code == 20003
    assert standin.messages() == []


def test_other_account_in_path_gives_404(standin):
    response = requests.post(
        f"{standin.base_url}/2010-04-01/Accounts/AC{'f' * 32}/Messages.json",
        data={"To": TO, "From": FROM, "Body": "x"}, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == 20404


@pytest.mark.parametrize("kwargs, code", [
    ({"to": TO, "from_": FROM}, 21602),
    ({"to": "", "from_": FROM, "body": "x"}, 21604),
    ({"to": TO, "body": "x"}, 21603),
])
def test_missing_parameters_give_400(client, kwargs, code):
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(**kwargs)
    assert err.value.status == 400 and err.value.code == code


@pytest.mark.parametrize("number, code", [
    ("+15005550001", 21211), ("+15005550002", 21612), ("+15005550003", 21408),
    ("+15005550004", 21610), ("+15005550009", 21614),
])
def test_magic_numbers(client, standin, number, code):
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=number, from_=FROM, body="x")
    assert err.value.status == 400 and err.value.code == code
    assert standin.messages(number) == []
    assert standin.requests(number)[0]["code"] == code


def test_runtime_503_fault_via_control_api(client, standin):
    response = requests.post(f"{standin.base_url}/_standin/faults", timeout=5,
                             json={"to": TO, "http_status": 503, "times": 1})
    assert response.status_code == 201
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert err.value.status == 503
    # times=1: the next attempt goes through
    assert client.messages.create(to=TO, from_=FROM, body="x").status == "queued"


def test_fault_with_custom_code_and_clearing(client, standin):
    standin.add_fault(TO, http_status=400, code=21211, message="nope")
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert err.value.code == 21211 and "nope" in err.value.msg
    assert requests.delete(f"{standin.base_url}/_standin/faults", timeout=5).status_code == 204
    assert client.messages.create(to=TO, from_=FROM, body="x").status == "queued"


def test_delay_fault_exceeding_client_timeout(standin):
    standin.add_fault(TO, delay=1.0, times=1)
    slow_client = Client(ACCOUNT_SID, AUTH_TOKEN,
                         http_client=RedirectingHttpClient(standin.base_url, timeout=0.3))
    with pytest.raises(requests.exceptions.Timeout):
        slow_client.messages.create(to=TO, from_=FROM, body="late")
    # Like Twilio, the message is still accepted once the delay is over.
    assert standin.wait_for_message(TO, timeout=5)["body"] == "late"


@pytest.mark.parametrize("code, status", [
    (21610, 400), (21211, 400), (13224, 400), (20003, 401), (20404, 404), (20429, 429),
    (20500, 500), (20503, 503),
])
def test_fault_given_only_a_code_answers_with_that_codes_http_status(client, standin, code, status):
    # As the README writes it: {"to": ..., "code": 21610}, no http_status.
    response = requests.post(f"{standin.base_url}/_standin/faults", json={"to": TO, "code": code},
                             timeout=5)
    assert response.status_code == 201
    assert (response.json()["http_status"], response.json()["code"]) == (status, code)
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert (err.value.status, err.value.code) == (status, code)
    assert standin.messages(TO) == []
    assert [(r["http_status"], r["code"]) for r in standin.requests(TO)] == [(status, code)]


@pytest.mark.parametrize("spec", [
    {"to": TO},  # nothing to do
    {"to": TO, "message": "refused"},  # a refusal's message, but no refusal
    {"to": TO, "error_code": 30003},  # a failed delivery's code, but no delivery outcome
    {"to": TO, "code": 21610, "delivery": "failed"},  # refused, so never delivered
    {"to": TO, "retry_after": 5},  # a refusal's Retry-After, but no refusal
])
def test_fault_that_would_not_act_as_written_is_refused(client, standin, spec):
    response = requests.post(f"{standin.base_url}/_standin/faults", json=spec, timeout=5)
    assert response.status_code == 400 and response.json()["message"]
    assert standin.faults() == []
    assert client.messages.create(to=TO, from_=FROM, body="x").status == "queued"


def test_invalid_fault_spec_is_rejected(standin):
    response = requests.post(f"{standin.base_url}/_standin/faults", json={"http_status": 200},
                             timeout=5)
    assert response.status_code == 400 and "code" in response.json()
    with pytest.raises(ValueError):
        standin.add_fault(TO, delivery="lost")


# -- status callbacks ------------------------------------------------------------

def test_status_callbacks_are_signed_and_ordered(client, standin, receiver):
    url = f"{receiver.base_url}/twilio/status?ref=abc"
    message = client.messages.create(to=TO, from_=FROM, body="x", status_callback=url)
    calls = receiver.wait(2)
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "delivered"]
    for call in calls:
        assert call["url"] == url
        assert_signed(call)
        form = call["form"]
        assert form["MessageSid"] == form["SmsSid"] == message.sid
        assert form["AccountSid"] == ACCOUNT_SID and form["To"] == TO and form["From"] == FROM
        assert form["SmsStatus"] == form["MessageStatus"]
        assert form["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in form
    recorded = standin.wait_for_callbacks(message.sid, 2)
    assert [(c["status"], c["http_status"]) for c in recorded] == [("sent", 200), ("delivered", 200)]
    assert client.messages(message.sid).fetch().status == "delivered"


def test_undelivered_fault_reports_error_code(client, standin, receiver):
    standin.add_fault(TO, delivery="undelivered", error_code=30005)
    message = client.messages.create(to=TO, from_=FROM, body="x",
                                     status_callback=f"{receiver.base_url}/status")
    assert message.status == "queued"
    calls = receiver.wait(2)
    assert [c["form"]["MessageStatus"] for c in calls] == ["sent", "undelivered"]
    assert calls[1]["form"]["ErrorCode"] == "30005"
    for call in calls:
        assert_signed(call)
    standin.wait_for_callbacks(message.sid, 2)
    fetched = client.messages(message.sid).fetch()
    assert fetched.status == "undelivered" and fetched.error_code == 30005


def test_failed_fault_reports_only_failed(client, standin, receiver):
    standin.add_fault(TO, delivery="failed")
    message = client.messages.create(to=TO, from_=FROM, body="x",
                                     status_callback=f"{receiver.base_url}/status")
    callbacks = standin.wait_for_callbacks(message.sid, 1)
    assert [c["status"] for c in callbacks] == ["failed"]
    assert receiver.calls[0]["form"]["ErrorCode"] == "30008"


def test_unreachable_callback_is_recorded_not_fatal(client, standin):
    message = client.messages.create(to=TO, from_=FROM, body="x",
                                     status_callback="http://127.0.0.1:9/nothing-here")
    callbacks = standin.wait_for_callbacks(message.sid, 2)
    assert all(c["http_status"] is None and c["error"] for c in callbacks)
    assert client.messages.create(to=TO, from_=FROM, body="still up").status == "queued"


# -- inspection / control API ------------------------------------------------------

def test_inspection_endpoint_returns_message(client, standin, receiver):
    url = f"{receiver.base_url}/status"
    message = client.messages.create(to=TO, from_=FROM, body="inspect me", status_callback=url)
    standin.wait_for_callbacks(message.sid, 2)
    listed = requests.get(f"{standin.base_url}/_standin/messages", params={"to": TO},
                          timeout=5).json()
    assert len(listed) == 1
    item = listed[0]
    assert (item["sid"], item["to"], item["from"], item["body"], item["status_callback"]) == \
        (message.sid, TO, FROM, "inspect me", url)
    assert [(c["status"], c["http_status"]) for c in item["callbacks"]] == \
        [("sent", 200), ("delivered", 200)]
    assert requests.delete(f"{standin.base_url}/_standin/messages", timeout=5).status_code == 204
    assert standin.messages() == []


def test_inspection_takes_a_plus_left_unencoded_in_the_url(client, standin):
    sid = client.messages.create(to=TO, from_=FROM, body="x").sid
    client.messages.create(to="+15550000000", from_=FROM, body="to someone else")
    # The URL as typed after curl: a + written as is arrives as a space (form decoding).
    for query in ("to=+15551234567", "to=%2B15551234567"):
        listed = requests.get(f"{standin.base_url}/_standin/messages?{query}", timeout=5).json()
        assert [m["sid"] for m in listed] == [sid], query
    listed = requests.get(f"{standin.base_url}/_standin/requests?to=+15551234567", timeout=5).json()
    assert [r["sid"] for r in listed] == [sid]


@pytest.mark.parametrize("to", ["15551234567", "abc", "+1555abc", "+", "00447400123456"])
def test_inspection_refuses_a_to_that_is_not_a_phone_number(client, standin, to):
    client.messages.create(to=TO, from_=FROM, body="x")
    response = requests.get(f"{standin.base_url}/_standin/messages", params={"to": to}, timeout=5)
    # Not an empty list, which would read as "nothing was sent".
    assert response.status_code == 400
    assert "E.164" in response.json()["message"] and "%2B" in response.json()["message"]


def test_unknown_path_and_config(standin):
    response = requests.get(f"{standin.base_url}/nope", timeout=5)
    assert response.status_code == 404 and response.json()["code"] == 20404
    response = requests.post(f"{standin.base_url}/_standin/config", json={"send_delay": 0.05},
                             timeout=5)
    assert response.json() == {"send_delay": 0.05} and standin.send_delay == 0.05
    response = requests.post(f"{standin.base_url}/_standin/config", data="not json", timeout=5)
    assert response.status_code == 400


def test_wait_for_message_times_out(standin):
    with pytest.raises(TimeoutError):
        standin.wait_for_message("+15559999999", timeout=0.1)


def test_send_delay_requests_run_concurrently(standin):
    standin.send_delay = 0.3
    url = f"{standin.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    def send(i):
        return requests.post(url, data={"To": TO, "From": FROM, "Body": str(i)},
                             auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(send, range(30)))
    elapsed = time.monotonic() - started
    assert statuses == [201] * 30
    assert elapsed < 3.0, f"30 requests x 0.3s took {elapsed:.2f}s: not concurrent"
    assert elapsed >= 0.3


# -- command line ---------------------------------------------------------------------

def test_module_help():
    result = subprocess.run([sys.executable, "-m", "twilio_standin", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "--send-delay" in result.stdout


@pytest.mark.parametrize("token_by", ["environment", "option"])
def test_module_runs_standalone(token_by):
    """The auth token comes from TWILIO_STANDIN_AUTH_TOKEN, off the command line (which every
    user can read); --auth-token still works for the callers that pass it so."""
    command = [sys.executable, "-m", "twilio_standin", "--port", "0", "--account-sid", ACCOUNT_SID]
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_STANDIN_AUTH_TOKEN"}
    if token_by == "environment":
        env["TWILIO_STANDIN_AUTH_TOKEN"] = AUTH_TOKEN
    else:
        command += ["--auth-token", AUTH_TOKEN]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)  # bounded wait for start-up
        assert ready, "stand-in printed nothing"
        line = proc.stdout.readline()  # first line announces the base URL
        base_url = line.split()[3]
        assert base_url.startswith("http://127.0.0.1:")
        client = Client(ACCOUNT_SID, AUTH_TOKEN,
                        http_client=RedirectingHttpClient(base_url, timeout=5))
        assert client.messages.create(to=TO, from_=FROM, body="x").status == "queued"
        wrong = Client(ACCOUNT_SID, "standin-auth-token",  # the default, had the token been lost
                       http_client=RedirectingHttpClient(base_url, timeout=5))
        with pytest.raises(TwilioRestException) as err:
            wrong.messages.create(to=TO, from_=FROM, body="x")
        assert err.value.status == 401
        on_command_line = AUTH_TOKEN.encode() in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert on_command_line == (token_by == "option")
    finally:
        proc.terminate()
        try:
            returncode = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert returncode == 0  # SIGTERM means a clean stop
