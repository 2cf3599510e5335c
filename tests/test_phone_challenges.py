"""Challenges of phone factors, whole: each starts a verification, and the stand-in delivers it (a
text, a code call, a press-# call to an office phone behind its extension); the challenge ends as
its verification does, at once for an approve call's decision (the listener), on the next read
otherwise (reconcile), and its first approval verifies the factor."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import redis
import requests
from freezegun import freeze_time
from twilio.base.exceptions import TwilioRestException

from tests.support import API_KEY, API_SECRET, CODE_READING, LANDLINE, MOBILE, application_errors, code_in, run_call
from tests.test_phone_factors import DESK_E164, DESK_PHONE, IDENTITY, add_phone, created
from verify.store import keys

AUTH = (API_KEY, API_SECRET)


@pytest.fixture(autouse=True)
def no_application_errors(standin):
    """Twilio reads any failed webhook aloud as "an application error has occurred": never."""
    yield
    errors = application_errors(standin)
    assert not errors, errors
    standin.clear_callees()


class Person:
    """IDENTITY with one phone factor, and the API calls a test makes about it."""

    def __init__(self, live, sdk, service_sid: str, kind: str, number: str, **params):
        self.live, self.service_sid = live, service_sid
        self.factor = created(add_phone(live, service_sid, kind, number, **params))
        self.entity = sdk.verify.v2.services(service_sid).entities(IDENTITY)
        self.base = f"{live.url}/v2/Services/{service_sid}/Entities/{IDENTITY}"

    def challenge(self, status: int = 201, **params) -> dict:
        answer = requests.post(f"{self.base}/Challenges", data={"FactorSid": self.factor["sid"], **params},
                               auth=AUTH, timeout=10)
        assert answer.status_code == status, answer.text
        return answer.json()

    def poll(self, sid: str) -> dict:
        answer = requests.get(f"{self.base}/Challenges/{sid}", auth=AUTH, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def answer(self, sid: str, code: str) -> requests.Response:
        return requests.post(f"{self.base}/Challenges/{sid}", data={"AuthPayload": code}, auth=AUTH, timeout=10)

    def factor_now(self) -> dict:
        return requests.get(f"{self.base}/Factors/{self.factor['sid']}", auth=AUTH, timeout=10).json()

    def default_factor(self) -> str | None:
        return requests.get(self.base, auth=AUTH, timeout=10).json()["default_factor_sid"]

    def stored(self, redis_url: str, sid: str) -> dict:
        """The challenge's hash as Redis holds it: what no read has reconciled."""
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        return client.hgetall(keys.challenge(self.service_sid, IDENTITY, sid))


def test_an_office_phone_approves_by_pressing_pound_behind_its_extension(live, sdk, service, standin, redis_url):
    standin.set_callee(DESK_E164, answer="human", keys=["#"])
    person = Person(live, sdk, service.sid, "office", DESK_PHONE)
    challenge = person.challenge()
    assert (challenge["status"], challenge["factor_type"], challenge["channel"]) == ("pending", "phone",
                                                                                      "call_approve")
    assert challenge["verification_sid"].startswith("VE") and challenge["responded_reason"] == "none"

    call = run_call(standin, DESK_E164)
    assert call["send_digits"] == "wwww123"  # the extension, dialled once the switchboard answered
    assert call["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."
    # Settled by the call's decision, before anyone polled the challenge.
    assert person.stored(redis_url, challenge["sid"])["st"] == "approved"
    assert person.factor_now()["status"] == "verified"
    assert person.default_factor() == person.factor["sid"]

    polled = person.poll(challenge["sid"])
    assert polled["status"] == "approved" and polled["date_responded"] is not None
    fetched = person.entity.challenges(challenge["sid"]).fetch()  # the SDK reads it as Verify's
    assert (fetched.status, fetched.factor_type) == ("approved", "phone")
    verification = sdk.verify.v2.services(service.sid).verifications(challenge["verification_sid"]).fetch()
    assert (verification.status, verification.channel, verification.to) == ("approved", "call_approve", DESK_E164)


def test_a_mobile_by_text(live, sdk, service, standin, redis_url):
    person = Person(live, sdk, service.sid, "mobile", MOBILE)
    challenge = person.challenge(**{"Details.Message": "Sign in to Acme"})
    assert (challenge["channel"], challenge["details"]["message"]) == ("sms", "Sign in to Acme")
    code = code_in(standin.wait_for_message(MOBILE))
    wrong = f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"
    assert person.answer(challenge["sid"], wrong).json()["status"] == "pending"
    assert person.factor_now()["status"] == "unverified"
    approved = person.entity.challenges(challenge["sid"]).update(auth_payload=code)  # the SDK, as for TOTP
    assert approved.status == "approved"
    assert person.factor_now()["status"] == "verified" and person.default_factor() == person.factor["sid"]
    assert person.answer(challenge["sid"], code).json()["status"] == "approved"  # an ended one answers as it is


def test_a_code_call_to_an_alternate_phone(live, sdk, service, standin):
    standin.set_callee(LANDLINE, answer="human", keys=[])
    person = Person(live, sdk, service.sid, "alternate", LANDLINE)
    challenge = person.challenge()
    assert challenge["channel"] == "call"
    call = run_call(standin, LANDLINE)
    code = next(text for text in call["said"] if CODE_READING.fullmatch(text)).replace(". ", "").rstrip(".")
    assert person.answer(challenge["sid"], code).json()["status"] == "approved"
    assert person.factor_now()["status"] == "verified"


def test_a_fraud_report_denies_and_blocks(live, sdk, service, standin, redis_url):
    standin.set_callee(MOBILE, answer="human", keys=["0", "#"])
    person = Person(live, sdk, service.sid, "mobile", MOBILE)
    challenge = person.challenge(Channel="call_approve")
    assert "reported as fraud" in run_call(standin, MOBILE)["said"][-1]
    assert person.stored(redis_url, challenge["sid"])["st"] == "denied"
    assert person.poll(challenge["sid"])["status"] == "denied"
    assert person.factor_now()["status"] == "unverified" and person.default_factor() is None
    refused = person.challenge(status=403)
    assert refused["code"] == 60605 and MOBILE not in refused["message"]
    listed = requests.get(f"{person.base}/Challenges", auth=AUTH, timeout=10).json()["challenges"]
    assert [c["sid"] for c in listed] == [challenge["sid"]]  # the refused start left no challenge


def test_a_code_checked_through_verification_check_settles_on_the_next_read(live, sdk, service, standin,
                                                                            redis_url):
    person = Person(live, sdk, service.sid, "mobile", MOBILE)
    challenge = person.challenge()
    code = code_in(standin.wait_for_message(MOBILE))
    check = sdk.verify.v2.services(service.sid).verification_checks.create(
        verification_sid=challenge["verification_sid"], code=code)
    assert check.status == "approved"
    assert person.stored(redis_url, challenge["sid"])["st"] == "pending"
    listed = requests.get(f"{person.base}/Challenges", auth=AUTH, timeout=10).json()["challenges"]
    assert [c["status"] for c in listed] == ["approved"]  # a list reconciles as a fetch does
    assert person.poll(challenge["sid"])["status"] == "approved"
    assert person.factor_now()["status"] == "verified"
    # The code was spent on the verification: tried on the challenge, it answers the challenge.
    assert person.answer(challenge["sid"], code).json()["status"] == "approved"


def test_expiry(live, sdk, service, standin, redis_url):
    with freeze_time(datetime(2030, 1, 7, 10, 0, 0, tzinfo=timezone.utc)) as clock:
        person = Person(live, sdk, service.sid, "mobile", MOBILE)
        challenge = person.challenge()
        code = code_in(standin.wait_for_message(MOBILE))
        clock.tick(599)
        assert person.poll(challenge["sid"])["status"] == "pending"
        clock.tick(1)  # the verification's code lives 10 minutes, and the challenge with it
        assert person.poll(challenge["sid"])["status"] == "expired"
        stored = person.stored(redis_url, challenge["sid"])
        assert (stored["st"], stored["vr"]) == ("expired", "expired")
        assert person.answer(challenge["sid"], code).json()["status"] == "expired"
        assert person.factor_now()["status"] == "unverified"


def test_five_wrong_codes_end_it_then_60202(live, sdk, service, standin):
    person = Person(live, sdk, service.sid, "mobile", MOBILE)
    challenge = person.challenge()
    code = code_in(standin.wait_for_message(MOBILE))
    wrong = f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"
    for _ in range(4):
        assert person.answer(challenge["sid"], wrong).json()["status"] == "pending"
    assert person.answer(challenge["sid"], wrong).json()["status"] == "expired"
    refused = person.answer(challenge["sid"], code)
    assert (refused.status_code, refused.json()["code"]) == (429, 60202)


def test_channels_and_refusals(live, sdk, service, standin):
    office = Person(live, sdk, service.sid, "office", DESK_PHONE)
    refused = office.challenge(status=400, Channel="sms")
    assert refused["code"] == 60200 and "office phone" in refused["message"]
    assert office.challenge(status=400, AuthPayload="123456")["code"] == 60200
    assert office.challenge(status=400, Channel="fax")["code"] == 60200
    pending = office.challenge(Channel="call")  # a code call, still behind the extension
    assert pending["channel"] == "call"
    assert office.answer(pending["sid"], "12345678901").json()["code"] == 60200
    approve = office.challenge()  # an approve call of its own: the code call's verification ends
    assert approve["verification_sid"] != pending["verification_sid"]
    assert office.poll(pending["sid"])["status"] == "expired"
    answer = office.answer(approve["sid"], "123456")
    assert answer.status_code == 400 and "pressing #" in answer.json()["message"]
    with pytest.raises(TwilioRestException) as raised:  # TOTP's challenges keep Verify's rule
        totp = office.entity.new_factors.create(friendly_name="App", factor_type="totp")
        office.entity.challenges.create(factor_sid=totp.sid)
    assert raised.value.code == 60318


def test_a_refused_start_leaves_no_challenge(live, sdk, service, standin):
    person = Person(live, sdk, service.sid, "mobile", MOBILE)
    standin.add_fault(to=MOBILE, http_status=400, code=21211, message="invalid To", times=1)
    assert person.challenge(status=400)["code"] == 60200
    started = person.challenge()
    listed = requests.get(f"{person.base}/Challenges", auth=AUTH, timeout=10).json()["challenges"]
    assert [c["sid"] for c in listed] == [started["sid"]]


def test_each_challenge_has_a_verification_of_its_own(live, sdk, service, standin):
    """Two challenges of one phone never share a verification: the second cancels the first's,
    so a code (or a #) answering one approves no other, such as a stranger's sign-in started
    with the person's password while the person signs in themselves."""
    person = Person(live, sdk, service.sid, "mobile", MOBILE)
    first = person.challenge()
    first_code = code_in(standin.wait_for_message(MOBILE))
    second = person.challenge()
    second_code = code_in(standin.wait_for_message(MOBILE, count=2))
    assert second["verification_sid"] != first["verification_sid"]
    assert person.poll(first["sid"])["status"] == "expired"
    assert person.answer(first["sid"], first_code).json()["status"] == "expired"
    assert person.answer(second["sid"], second_code).json()["status"] == "approved"
    assert person.poll(first["sid"])["status"] == "expired"
    assert person.factor_now()["status"] == "verified"

    # Nor does the application's own verification of the number take over a challenge's.
    third = person.challenge()
    started = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    assert started.sid != third["verification_sid"]
    assert person.poll(third["sid"])["status"] == "expired"


def test_deleting_the_entity_while_its_call_rings(live, sdk, service, standin, redis_url):
    standin.set_callee(DESK_E164, answer="interactive")
    person = Person(live, sdk, service.sid, "office", DESK_PHONE)
    challenge = person.challenge()
    call = standin.wait_for_call(DESK_E164, timeout=10)
    assert requests.delete(person.base, auth=AUTH, timeout=10).status_code == 204
    standin.answer_call(call["sid"])
    standin.wait_for_gather(call["sid"])
    assert standin.press(call["sid"], "#")
    ended = standin.wait_for_call_end(call["sid"], timeout=30)
    assert ended["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."  # the verification's own answer
    assert person.stored(redis_url, challenge["sid"]) == {}
    client = redis.Redis.from_url(redis_url)
    assert not list(client.scan_iter(keys.entity_prefix(service.sid, IDENTITY).replace("{", "[{]") + "*"))
