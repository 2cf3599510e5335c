"""Many requests at once on one verification: one approval at most, attempts counted exactly."""
import threading
from collections import Counter

import redis
import requests

from tests.support import API_KEY, API_SECRET, MOBILE, at_once, code_in, stored_checks


def burst(url: str, forms: list[dict]) -> list[requests.Response]:
    """Send every form to `url` at the same instant."""
    return at_once([(url, form) for form in forms])


def outcomes(answers) -> Counter:
    return Counter(a.json().get("status") if a.status_code == 200 else a.json()["code"] for a in answers)


def wrong(code):
    return str((int(code) + 1) % 10**6).zfill(6)


def started(live, service, standin):
    url = f"{live.url}/v2/Services/{service.sid}"
    sid = requests.post(f"{url}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                        auth=(API_KEY, API_SECRET)).json()["sid"]
    return url, sid, code_in(standin.wait_for_message(MOBILE))


def test_simultaneous_right_codes_approve_exactly_once(live, service, standin):
    url, _, code = started(live, service, standin)
    answers = burst(f"{url}/VerificationCheck", [{"To": MOBILE, "Code": code}] * 30)
    assert outcomes(answers) == Counter({"approved": 1, 20404: 29})


def test_simultaneous_wrong_codes_count_every_attempt(live, service, standin):
    url, _, code = started(live, service, standin)
    answers = burst(f"{url}/VerificationCheck", [{"To": MOBILE, "Code": wrong(code)}] * 40)
    assert outcomes(answers) == Counter({"pending": 4, "max_attempts_reached": 1, 60202: 35})


def test_mixed_burst_never_exceeds_five_checks(live, service, standin, redis_url):
    url, sid, code = started(live, service, standin)
    forms = [{"To": MOBILE, "Code": code}] * 10 + [{"To": MOBILE, "Code": wrong(code)}] * 30
    answers = burst(f"{url}/VerificationCheck", forms)
    counted = outcomes(answers)
    checked = [a for a in answers if a.status_code == 200]
    assert counted["approved"] <= 1 and len(checked) <= 5
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    assert stored_checks(store, service.sid, sid) == len(checked)  # every answered check counted, no more


def test_simultaneous_starts_share_one_verification_and_five_sends(live, service, standin):
    url = f"{live.url}/v2/Services/{service.sid}/Verifications"
    answers = burst(url, [{"To": MOBILE, "Channel": "sms"}] * 20)
    created = [a.json() for a in answers if a.status_code == 201]
    assert len(created) == 5 and len({v["sid"] for v in created}) == 1
    assert Counter(a.json()["code"] for a in answers if a.status_code != 201) == Counter({60203: 15})
    assert len(standin.messages(MOBILE)) == 5
    assert len({code_in(m) for m in standin.messages(MOBILE)}) == 1


def test_simultaneous_approve_and_fraud_key_presses_decide_once(live, service, standin, redis_url):
    """Thirty signed key-press webhooks of one approve call at once, half approving (#) and half
    confirming a fraud report (0 then #): exactly one decision stands, and every answer agrees."""
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    from tests.support import AUTH_TOKEN

    standin.set_callee(MOBILE, answer="no-answer")  # this test plays Twilio's webhooks itself
    verification = requests.post(f"{live.url}/v2/Services/{service.sid}/Verifications",
                                 data={"To": MOBILE, "Channel": "call_approve"}, auth=(API_KEY, API_SECRET)).json()
    call_sid = verification["send_code_attempts"][0]["call_sid"]
    barrier = threading.Barrier(30)
    spoken: list = [None] * 30

    def press(index, step):
        query = urlencode({"service": service.sid, "verification": verification["sid"], "attempt": 1,
                           "step": step, "round": 1})
        url = f"{live.url}/voice/key?{query}"
        form = {"CallSid": call_sid, "Digits": "#", "CallStatus": "in-progress"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        barrier.wait()
        answer = requests.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30)
        assert answer.status_code == 200
        spoken[index] = answer.text

    threads = [threading.Thread(target=press, args=(i, "approve" if i % 2 else "fraud")) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    approvals = sum("sign-in is approved" in text for text in spoken)
    reports = sum("reported as fraud" in text for text in spoken)
    status = requests.get(f"{live.url}/v2/Services/{service.sid}/Verifications/{verification['sid']}",
                          auth=(API_KEY, API_SECRET)).json()
    assert sorted([approvals, reports]) == [0, 15]  # one side won; its presses all confirm
    assert status["status"] == ("approved" if approvals else "failed")
    assert sum("no longer active" in text for text in spoken) == 15
    blocked = redis.Redis.from_url(redis_url).keys("tv:*blocked:*")
    assert bool(blocked) == bool(reports)


def test_a_number_limit_lets_exactly_its_amount_through(live, service, standin):
    """Fifty simultaneous starts for one number against a limit of 3 sends: exactly 3 texts."""
    url = f"{live.url}/v2/Services/{service.sid}"
    limited = requests.post(url, data={"LimitSendsPerNumber": "3 per 10 minutes; 30 per day"},
                            auth=(API_KEY, API_SECRET))
    assert limited.status_code == 200, limited.text
    answers = burst(f"{url}/Verifications", [{"To": MOBILE, "Channel": "sms"}] * 50)
    assert Counter(a.status_code for a in answers) == Counter({201: 3, 429: 47})
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {60203}
    assert len(standin.requests(MOBILE)) == 3
