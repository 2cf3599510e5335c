"""telverify behind Redis Sentinel (tests/sentinel.py: a primary, one replica, three Sentinels),
under gunicorn, while verifications are started and checked over real HTTP and the primary is
failed over: by the Sentinels' manual failover, and by killing it. No request answers 500, the
outage answers 503 (20503) and a call's webhook an apology, nothing is approved wrongly, and
telverify serves again on the new primary without a restart."""
from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import requests
from limits import parse
from twilio.request_validator import RequestValidator

from tests.sentinel import LocalSentinels
from tests.support import API_KEY, API_SECRET, AUTH_TOKEN, Gunicorn, code_in, make_env
from verify.protection.windows import Limiter
from verify.store.connection import connect
from verify.store.round_trip import RoundTrip, run_script
from verify.store.sentinel import ASK_EVERY

SENTINEL_PASSWORD = "sentinel-secret-0123"
AUTH = (API_KEY, API_SECRET)
MAX_CHECKS = 5  # a verification's attempts (Verify's)


@pytest.fixture
def sentinels():
    with LocalSentinels("telverify", "p@ss:w/rd", SENTINEL_PASSWORD) as started:
        yield started


@pytest.fixture
def served(sentinels, standin, tmp_path):
    """telverify on the Sentinels' primary; it refuses to start unless that primary's persistence
    can be checked, so serving shows the check reached it."""
    def env(url):
        return make_env(sentinels.url, standin.base_url, url, REDIS_SENTINEL_PASSWORD=SENTINEL_PASSWORD,
                        REQUIRE_REDIS_PERSISTENCE="1")
    with Gunicorn(tmp_path, env, GUNICORN_THREADS="8") as server:
        assert f"127.0.0.1:{sentinels.ports[0]} (the Sentinels' primary" in server.log()
        yield server


@dataclass(frozen=True)
class Answer:
    sent: float  # monotonic time the request went out
    answered: float  # and when its answer came back
    number: str
    kind: str  # start, wrong (a wrong code), right
    status: int
    body: dict


class Load:
    """Drivers, each starting a verification for a number of its own and checking it (0 to 6
    wrong codes, then the right code until an answer that is not 503, then once more), until
    stopped. Every answer is kept."""

    def __init__(self, url: str, standin, drivers: int = 4):
        self.standin, self.answers, self.failures, self.stop = standin, [], [], threading.Event()
        service = requests.post(f"{url}/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH, timeout=10)
        self.base = f"{url}/v2/Services/{service.json()['sid']}"
        self.threads = [threading.Thread(target=self._drive, args=(n,)) for n in range(drivers)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _post(self, number: str, kind: str, path: str, **form) -> Answer:
        sent = time.monotonic()
        response = requests.post(f"{self.base}/{path}", data={"To": number, **form}, auth=AUTH, timeout=15)
        answer = Answer(sent, time.monotonic(), number, kind, response.status_code, response.json())
        self.answers.append(answer)
        return answer

    def _until_answered(self, number: str, kind: str, path: str, **form) -> Answer | None:
        while not self.stop.is_set():
            answer = self._post(number, kind, path, **form)
            if answer.status != 503:
                return answer
            time.sleep(0.05)
        return None

    def _drive(self, driver: int) -> None:
        try:
            self._turns(driver)
        except Exception as exc:  # the test reads it: a driver that stops must not pass unseen
            self.failures.append(exc)

    def _turns(self, driver: int) -> None:
        for turn in range(10_000):
            number = f"+44740{driver}{turn:06d}"
            started = self._until_answered(number, "start", "Verifications", Channel="sms")
            if started is None:
                return
            code = code_in(self.standin.wait_for_message(number))
            wrong = f"{(int(code) + 1) % 10**len(code):0{len(code)}d}"
            for _ in range(turn % 7):
                self._post(number, "wrong", "VerificationCheck", Code=wrong)
            if self._until_answered(number, "right", "VerificationCheck", Code=code) is not None:
                self._post(number, "right", "VerificationCheck", Code=code)

    def approvals_after(self, moment: float) -> int:
        return sum(1 for a in list(self.answers) if a.sent > moment and a.body.get("status") == "approved")


EXPECTED = {(200, None), (201, None), (404, 20404), (429, 60202), (503, 20503)}


def assert_nothing_wrongly_approved(answers: list[Answer]) -> None:
    assert {(a.status, a.body.get("code")) for a in answers} <= EXPECTED, Counter(
        (a.status, a.body.get("code")) for a in answers)
    by_number = defaultdict(list)
    for answer in answers:
        by_number[answer.number].append(answer)
    for number, mine in by_number.items():
        counted = [a for a in mine if a.kind != "start" and a.status == 200]
        approved = [a for a in counted if a.body["status"] == "approved"]
        assert all(a.kind == "right" for a in approved), f"{number}: a wrong code approved"
        assert len(approved) <= 1, f"{number}: approved {len(approved)} times"
        assert len(counted) <= MAX_CHECKS, f"{number}: {len(counted)} checks counted"
        if sum(1 for a in counted if a.kind == "wrong") >= MAX_CHECKS:
            assert not approved, f"{number}: approved after {MAX_CHECKS} wrong codes"


def wait_until_ready(url: str, timeout: float = 30) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if requests.get(f"{url}/healthz/ready", timeout=5).status_code == 200:
                return time.monotonic()
        except requests.RequestException:
            pass
        time.sleep(0.05)
    pytest.fail(f"readiness not back within {timeout} s")


def ride_out(served, standin, sentinels, fail_over, during_outage=lambda: None) -> dict:
    """Run the load, fail over once it has approved a few (`fail_over` answers which node was the
    primary), and go on until the Sentinels name another, the service is back and has approved
    more: what the failover cost, after checking nothing was wrongly approved."""
    with Load(served.url, standin) as load:
        deadline = time.monotonic() + 30
        while load.approvals_after(0) < 4:
            assert time.monotonic() < deadline, "the load approved nothing"
            time.sleep(0.05)
        began = time.monotonic()
        old = fail_over()
        during_outage()
        promoted = sentinels.wait_for_new_primary(old)
        back = wait_until_ready(served.url)
        while load.approvals_after(back) < 4:  # starts and checks succeed again, on every driver's turn
            assert time.monotonic() - back < 30, "no approval after the failover"
            time.sleep(0.05)
    assert load.failures == []
    answers = load.answers
    assert_nothing_wrongly_approved(answers)
    unavailable = [a.sent for a in answers if a.status == 503]
    # A request still in flight when the primary went (sent a moment before) may fail with it.
    assert all(began <= a.answered and a.sent <= back + 5 for a in answers if a.status == 503), \
        "a 503 outside the failover"
    assert back - began < 30
    return {"requests": len(answers), "503": len(unavailable), "promoted after": round(promoted, 2),
            "ready again after": round(back - began, 2),
            "503s over": round(max(unavailable) - min(unavailable), 2) if unavailable else 0}


def test_a_manual_failover_costs_a_few_503s_and_approves_nothing_wrongly(sentinels, served, standin):
    """The demoted primary stays a writable primary until the Sentinels reconfigure it, some ten
    seconds on; `min-replicas-to-write 1` makes it refuse the writes its replica no longer takes
    (README, "Redis Sentinel"), and telverify leaves it for the new primary meanwhile."""
    old = sentinels.primary()
    sentinels.node(old).config_set("min-replicas-to-write", 1)
    cost = ride_out(served, standin, sentinels, sentinels.fail_over)
    print(f"manual failover: {cost}")


def test_killing_the_primary_costs_503s_and_a_spoken_apology(sentinels, served, standin):
    standin.set_callee("+447400999999", answer="no-answer")
    service = requests.post(f"{served.url}/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH, timeout=10)
    call = requests.post(f"{served.url}/v2/Services/{service.json()['sid']}/Verifications",
                         data={"To": "+447400999999", "Channel": "call"}, auth=AUTH, timeout=10).json()
    webhook = f"/voice/answer?{urlencode({'service': call['service_sid'], 'verification': call['sid'], 'attempt': 1})}"
    heard = []

    def answer_the_call():
        """A call's webhook while the primary is down and the Sentinels have not yet noticed (they
        wait a second): the caller hears an apology, and the call hangs up."""
        form = {"AccountSid": "AC" + "0" * 32, "CallSid": call["send_code_attempts"][0]["call_sid"],
                "To": call["to"], "CallStatus": "in-progress", "Direction": "outbound-api"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(served.url + webhook, form)
        heard.append(requests.post(served.url + webhook, data=form, headers={"X-Twilio-Signature": signature},
                                   timeout=15))

    cost = ride_out(served, standin, sentinels, sentinels.kill_primary, answer_the_call)
    assert heard[0].status_code == 200 and heard[0].headers["Content-Type"].startswith("application/xml")
    twiml = ET.fromstring(heard[0].content)
    assert "Sorry" in " ".join(say.text for say in twiml.iter("Say")) and twiml[-1].tag == "Hangup"
    print(f"primary killed: {cost}")


def test_the_store_and_the_rate_limits_leave_a_demoted_primary_before_it_is_reconfigured(sentinels):
    """Round trips, the client's pool and the rate-limit counters all write to the new primary
    within a second of the Sentinels naming it, while the old one still takes writes; a script
    the new primary never held (script caches are not replicated) is loaded and run once."""
    client = connect(sentinels.url, SENTINEL_PASSWORD)
    round_trip, limiter = RoundTrip(client), Limiter(sentinels.url, sentinel_password=SENTINEL_PASSWORD)
    per_minute = parse("100/minute")
    counter = client.register_script("return redis.call('INCR', KEYS[1])")
    assert round_trip.send(("SET", "before", "1")) == ["OK"] and limiter.hit(per_minute, "before") is None
    assert run_script(round_trip, counter, ["counted"], []) == 1
    old = sentinels.primary()
    sentinels.fail_over()
    sentinels.wait_for_new_primary(old)
    time.sleep(ASK_EVERY + 0.1)  # each pool asks the Sentinels again after this long
    assert sentinels.node(1 - old).script_exists(counter.sha) == [False]
    assert run_script(round_trip, counter, ["counted"], []) == 2  # NOSCRIPT: loaded, then run once
    assert round_trip.send(("SET", "after", "1")) == ["OK"]
    client.set("after-pool", "1")
    assert limiter.hit(per_minute, "after") is None
    new, demoted = sentinels.node(1 - old), sentinels.node(old)
    assert demoted.info("replication")["role"] == "master"  # still writable, were anything sent to it
    assert new.exists("after", "after-pool", limiter.key(per_minute, "after")) == 3
    assert demoted.exists("after", "after-pool", limiter.key(per_minute, "after")) == 0
