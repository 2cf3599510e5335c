"""Challenges of TOTP factors through the `twilio` SDK: codes in their time windows (freezegun moves
telverify's clock, which the scripts take from Python), skew, expiry, replay, concurrency, the
challenge's limits and retention, and SECRET_KEY's rotation under stored seeds."""
from __future__ import annotations

import base64
import secrets
import threading
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
import redis
import requests
from freezegun import freeze_time
from twilio.base.exceptions import TwilioRestException

from tests.support import API_KEY, API_SECRET, SECRET_KEY, LiveServer, make_env, verify_client
from tests.test_verify_spec import conforms
from verify.methods import totp
from verify.sealing import Keyring
from verify.store import keys

AUTH = (API_KEY, API_SECRET)
IDENTITY = "user-0001-abcdef"
T0 = datetime(2030, 1, 7, 10, 0, 0, tzinfo=timezone.utc)  # at the start of a 30-second step
CHALLENGES = "/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges"


def _raise(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as raised:
        call()
    return raised.value


class Enrolled:
    """A verified TOTP factor of IDENTITY, and what a test needs to use it."""

    def __init__(self, sdk, service_sid: str, clock, **options):
        self.entity = sdk.verify.v2.services(service_sid).entities(IDENTITY)
        created = self.entity.new_factors.create(friendly_name="Ana's phone", factor_type="totp", **options)
        self.sid = created.sid
        config = created.config
        self.totp = pyotp.TOTP(created.binding["secret"], digits=config["code_length"],
                               interval=config["time_step"], digest=config["alg"])
        self.step = config["time_step"]
        self.clock = clock
        assert self.entity.factors(self.sid).update(auth_payload=self.code()).status == "verified"

    def code(self, steps: int = 0) -> str:
        """The code of the time step `steps` away from the frozen now."""
        return self.totp.at(datetime.now(timezone.utc) + timedelta(seconds=steps * self.step))

    def next_step(self, steps: int = 1) -> None:
        self.clock.tick(steps * self.step)

    def challenge(self, **kwargs):
        return self.entity.challenges.create(factor_sid=self.sid, **kwargs)


@pytest.fixture
def clock():
    with freeze_time(T0) as frozen:
        yield frozen


@pytest.fixture
def enrolled(sdk, service, clock):
    return Enrolled(sdk, service.sid, clock)


def test_a_valid_code_approves_the_challenge(enrolled):
    enrolled.next_step()
    challenge = enrolled.challenge(auth_payload=enrolled.code())
    assert challenge.sid.startswith("YC") and challenge.status == "approved"
    assert challenge.factor_type == "totp" and challenge.responded_reason == "none"
    assert challenge.date_responded == challenge.date_created
    assert challenge.expiration_date == challenge.date_created + timedelta(minutes=5)
    assert challenge.links == {"notifications": challenge.url + "/Notifications"}


def test_a_challenge_without_a_code_waits_for_one(enrolled):
    challenge = enrolled.challenge()
    assert challenge.status == "pending" and challenge.date_responded is None
    enrolled.next_step()
    wrong = f"{(int(enrolled.code()) + 1) % 10**6:06d}"
    assert enrolled.entity.challenges(challenge.sid).update(auth_payload=wrong).status == "pending"
    approved = enrolled.entity.challenges(challenge.sid).update(auth_payload=enrolled.code())
    assert approved.status == "approved" and approved.date_responded is not None
    # An ended challenge answers as it is and counts nothing more.
    assert enrolled.entity.challenges(challenge.sid).update(auth_payload=wrong).status == "approved"
    assert enrolled.entity.challenges(challenge.sid).fetch().status == "approved"


def test_a_challenge_takes_five_codes_then_60308(enrolled):
    challenge = enrolled.entity.challenges(enrolled.challenge().sid)
    enrolled.next_step()
    wrong = f"{(int(enrolled.code()) + 1) % 10**6:06d}"
    for _ in range(5):
        assert challenge.update(auth_payload=wrong).status == "pending"
    error = _raise(lambda: challenge.update(auth_payload=enrolled.code()))
    assert (error.status, error.code) == (429, 60308)
    assert challenge.fetch().status == "pending"


def test_an_expired_challenge_takes_no_code(enrolled):
    challenge = enrolled.entity.challenges(enrolled.challenge().sid)
    enrolled.clock.tick(299)
    assert challenge.fetch().status == "pending"
    enrolled.clock.tick(1)
    assert challenge.fetch().status == "expired"
    assert challenge.update(auth_payload=enrolled.code()).status == "expired"
    enrolled.next_step()  # the code was not spent: the factor still takes it on a live challenge
    assert enrolled.challenge(auth_payload=enrolled.code()).status == "approved"


def test_expiration_date(enrolled, live, service):
    later = datetime.now(timezone.utc) + timedelta(minutes=60)
    challenge = enrolled.challenge(expiration_date=later)
    assert challenge.expiration_date == later
    enrolled.clock.tick(59 * 60)
    assert enrolled.entity.challenges(challenge.sid).fetch().status == "pending"
    url = f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}/Challenges"
    for when in ("2030-01-07T09:00:00Z", (datetime.now(timezone.utc) + timedelta(minutes=61)).isoformat(),
                 "tomorrow"):
        answer = requests.post(url, data={"FactorSid": enrolled.sid, "ExpirationDate": when}, auth=AUTH, timeout=10)
        assert answer.status_code == 400 and "ExpirationDate" in answer.json()["message"], answer.text


@pytest.mark.parametrize("skew", [0, 1, 2])
def test_skew_bounds(sdk, service, clock, skew):
    enrolled = Enrolled(sdk, service.sid, clock, config_skew=skew)
    enrolled.next_step(10)
    assert enrolled.challenge(auth_payload=enrolled.code(-(skew + 1))).status == "pending"
    assert enrolled.challenge(auth_payload=enrolled.code(-skew)).status == "approved"  # a phone's clock behind
    enrolled.next_step(10)
    assert enrolled.challenge(auth_payload=enrolled.code(skew + 1)).status == "pending"
    assert enrolled.challenge(auth_payload=enrolled.code(skew)).status == "approved"  # a phone's clock ahead


def test_a_code_is_accepted_once(enrolled):
    enrolled.next_step()
    code = enrolled.code()
    assert enrolled.challenge(auth_payload=code).status == "approved"
    assert enrolled.challenge(auth_payload=code).status == "pending"  # replay, within its window
    pending = enrolled.challenge()
    assert enrolled.entity.challenges(pending.sid).update(auth_payload=code).status == "pending"
    # An older code still within the skew is refused too: its counter is below the accepted one.
    assert enrolled.challenge(auth_payload=enrolled.code(-1)).status == "pending"
    # The code that verified the factor is spent as well.
    enrolled.next_step()
    assert enrolled.challenge(auth_payload=enrolled.code()).status == "approved"


def test_a_challenge_finds_its_code_with_the_factors_settings_as_they_are_now(enrolled):
    """A process remembers a factor it read (challenges.py, KNOWN_FACTORS) and challenge_create.lua
    refuses what it remembers once the seed or settings changed: the code is then found again
    with the factor's settings of this moment."""
    enrolled.next_step()
    assert enrolled.challenge(auth_payload=enrolled.code()).status == "approved"  # the factor is known
    enrolled.entity.factors(enrolled.sid).update(config_code_length=8)
    enrolled.totp = pyotp.TOTP(enrolled.totp.secret, digits=8, interval=enrolled.step)
    enrolled.next_step()
    assert enrolled.challenge(auth_payload=enrolled.code()).status == "approved"
    enrolled.next_step()
    assert enrolled.challenge(auth_payload=enrolled.code()[:6]).status == "pending"  # six digits no longer do
    enrolled.entity.factors(enrolled.sid).delete()
    with pytest.raises(TwilioRestException) as raised:
        enrolled.challenge(auth_payload=enrolled.code())
    assert raised.value.status == 404


def test_the_same_code_on_two_challenges_at_once_approves_one(sdk, service, clock):
    enrolled = Enrolled(sdk, service.sid, clock)
    for _ in range(3):  # a few rounds: a race shows up in one
        enrolled.next_step()
        code = enrolled.code()
        challenges = [enrolled.entity.challenges(enrolled.challenge().sid) for _ in range(4)]
        start, results = threading.Barrier(len(challenges)), []

        def attempt(challenge):
            start.wait()
            results.append(challenge.update(auth_payload=code).status)

        threads = [threading.Thread(target=attempt, args=(c,)) for c in challenges]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == ["approved", "pending", "pending", "pending"]


def test_the_same_code_on_one_challenge_at_once_counts_right(sdk, service, clock):
    enrolled = Enrolled(sdk, service.sid, clock)
    enrolled.next_step()
    challenge = enrolled.entity.challenges(enrolled.challenge().sid)
    wrong = f"{(int(enrolled.code()) + 1) % 10**6:06d}"
    start, outcomes = threading.Barrier(8), []

    def attempt():
        start.wait()
        try:
            outcomes.append(challenge.update(auth_payload=wrong).status)
        except TwilioRestException as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(map(str, outcomes)) == ["60308"] * 3 + ["pending"] * 5


def test_challenge_refusals(sdk, service, clock, live):
    enrolled = Enrolled(sdk, service.sid, clock)
    unverified = enrolled.entity.new_factors.create(friendly_name="Other", factor_type="totp")
    error = _raise(lambda: enrolled.entity.challenges.create(factor_sid=unverified.sid))
    assert (error.status, error.code) == (403, 60318)
    error = _raise(lambda: enrolled.entity.challenges.create(factor_sid="YF" + "0" * 32))
    assert (error.status, error.code) == (404, 20404)
    url = f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}/Challenges"
    for data, parameter in (({"FactorSid": "YFnope"}, "FactorSid"), ({}, "FactorSid"),
                            ({"FactorSid": enrolled.sid, "AuthPayload": "12"}, "AuthPayload"),
                            ({"FactorSid": enrolled.sid, "AuthPayload": "123456789"}, "AuthPayload"),
                            ({"FactorSid": enrolled.sid, "HiddenDetails": "[1]"}, "HiddenDetails"),
                            ({"FactorSid": enrolled.sid, "Details.Fields": '{"label": 1}'}, "Details.Fields")):
        answer = requests.post(url, data=data, auth=AUTH, timeout=10)
        assert answer.status_code == 400 and parameter in answer.json()["message"], answer.text
    missing_entity = _raise(lambda: sdk.verify.v2.services(service.sid).entities("nobody-12345").challenges.create(
        factor_sid=enrolled.sid))
    assert (missing_entity.status, missing_entity.code) == (404, 20404)
    missing = _raise(lambda: enrolled.entity.challenges("YC" + "0" * 32).fetch())
    assert missing.status == 404


def test_details_are_kept_and_answered(enrolled):
    challenge = enrolled.challenge(details_message="Sign in to Acme", hidden_details={"ip": "172.168.1.234"},
                                   details_fields=[{"label": "Browser", "value": "Firefox"}])
    expected = {"message": "Sign in to Acme", "date": None, "fields": [{"label": "Browser", "value": "Firefox"}]}
    assert challenge.details == expected and challenge.hidden_details == {"ip": "172.168.1.234"}
    fetched = enrolled.entity.challenges(challenge.sid).fetch()
    assert (fetched.details, fetched.hidden_details) == (expected, {"ip": "172.168.1.234"})


def test_listing_with_filters_and_order(sdk, service, clock):
    enrolled = Enrolled(sdk, service.sid, clock)
    other = Enrolled(sdk, service.sid, clock)
    enrolled.next_step()
    first = enrolled.challenge(auth_payload=enrolled.code())
    clock.tick(1)
    second = enrolled.challenge()
    clock.tick(1)
    third = other.challenge()
    challenges = enrolled.entity.challenges
    assert [c.sid for c in challenges.list()] == [first.sid, second.sid, third.sid]
    assert [c.sid for c in challenges.list(order="desc")] == [third.sid, second.sid, first.sid]
    assert [c.sid for c in challenges.list(factor_sid=enrolled.sid)] == [first.sid, second.sid]
    assert [c.sid for c in challenges.list(status="pending")] == [second.sid, third.sid]
    assert [c.sid for c in challenges.list(status="approved")] == [first.sid]
    assert [c.sid for c in challenges.list(page_size=1, limit=10)] == [first.sid, second.sid, third.sid]
    clock.tick(300)
    assert [c.sid for c in challenges.list(status="expired")] == [second.sid, third.sid]


def test_ended_challenges_are_kept_30_days(enrolled, redis_url, service):
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    old = enrolled.challenge()
    old_key = keys.challenge(service.sid, IDENTITY, old.sid)
    assert 30 * 86400 < store.ttl(old_key) <= 30 * 86400 + 300  # Redis' own clean-up, not frozen
    enrolled.clock.tick(30 * 86400 + 3600 - 5)
    enrolled.challenge()
    assert store.exists(old_key) and old.sid in store.zrange(keys.challenges_index(service.sid, IDENTITY), 0, -1)
    enrolled.clock.tick(10)
    newest = enrolled.challenge()
    assert not store.exists(old_key)
    assert old.sid not in store.zrange(keys.challenges_index(service.sid, IDENTITY), 0, -1)
    assert [c.sid for c in enrolled.entity.challenges.list()][-1] == newest.sid


def test_challenge_answers_match_verifys_schema(enrolled, live, service):
    api = requests.Session()
    api.auth = AUTH
    url = f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}/Challenges"
    created = api.post(url, data={"FactorSid": enrolled.sid, "Details.Message": "Hi"}, timeout=10)
    body = conforms("post", CHALLENGES, created)
    conforms("get", CHALLENGES + "/{Sid}", api.get(f"{url}/{body['sid']}", timeout=10))
    conforms("get", CHALLENGES, api.get(url, params={"Order": "desc"}, timeout=10))
    enrolled.next_step()
    updated = api.post(f"{url}/{body['sid']}", data={"AuthPayload": enrolled.code()}, timeout=10)
    assert conforms("post", CHALLENGES + "/{Sid}", updated)["status"] == "approved"


# -- SECRET_KEY's rotation --------------------------------------------------------------------

ROTATED_KEY = "rotated-secret-key-0123456789abcdef-0123456789"


def test_a_seed_sealed_under_the_previous_key_works_and_is_sealed_again(sdk, service, clock, redis_url, standin):
    enrolled = Enrolled(sdk, service.sid, clock)
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    factor_key = keys.factor(service.sid, IDENTITY, enrolled.sid)
    old = Keyring(SECRET_KEY, None, b"totp seed")
    assert store.hget(factor_key, "sv") == old.current_id
    assert store.object("encoding", factor_key) == "listpack"  # its fields short enough for the compact encoding

    rotated = LiveServer(lambda url: make_env(redis_url, standin.base_url, url, SECRET_KEY=ROTATED_KEY,
                                              SECRET_KEY_PREVIOUS=SECRET_KEY))
    with rotated:
        entity = verify_client(rotated.url).verify.v2.services(service.sid).entities(IDENTITY)
        enrolled.next_step()
        assert entity.challenges.create(factor_sid=enrolled.sid, auth_payload=enrolled.code()).status == "approved"
    new = Keyring(ROTATED_KEY, None, b"totp seed")
    key_id, sealed = store.hmget(factor_key, "sv", "sd")
    assert key_id == new.current_id and new.current_id != old.current_id
    assert new.open(f"{key_id}.{sealed}", enrolled.sid).plaintext == base64.b32decode(enrolled.totp.secret)

    # Without the previous key the seed no longer opens: nothing is approved, and the caller is told.
    forgotten = LiveServer(lambda url: make_env(redis_url, standin.base_url, url,
                                                SECRET_KEY="another-secret-key-0123456789abcdef-012345"))
    with forgotten:
        entity = verify_client(forgotten.url).verify.v2.services(service.sid).entities(IDENTITY)
        enrolled.next_step()
        error = _raise(lambda: entity.challenges.create(factor_sid=enrolled.sid, auth_payload=enrolled.code()))
        assert (error.status, error.code) == (503, 20503)


@pytest.mark.parametrize("alg", sorted(totp.ALGORITHMS))
@pytest.mark.parametrize("code_length", range(3, 9))
def test_codes_are_pyotps(alg, code_length):
    """The process's generators (their keyed HMAC made once per seed) make pyotp's own codes; a
    code shorter than pyotp makes (6 digits at least) is the last digits of pyotp's 6-digit one,
    as RFC 4226 truncates."""
    secret = pyotp.random_base32()
    ours = totp._generator(secret, totp.TotpConfig(30, code_length, 1, alg))
    theirs = pyotp.TOTP(secret, digits=max(code_length, 6), digest=totp.ALGORITHMS[alg], interval=30)
    counters = [*range(200), 2**31 - 1, 2**32, 2**40 + 7, 2**63 - 1, *(secrets.randbelow(2**64) for _ in range(200))]
    codes = [ours.generate_otp(c) for c in counters]
    assert all(len(code) == code_length and code.isdigit() for code in codes)
    assert codes == [theirs.generate_otp(c)[-code_length:] for c in counters]
    assert ours.at(1_900_000_000) == theirs.at(1_900_000_000)[-code_length:]
    with pytest.raises(ValueError):
        ours.generate_otp(-1)


@pytest.mark.parametrize("code_length", [3, 5])
def test_codes_shorter_than_pyotps_work(sdk, service, clock, code_length):
    """Verify's Config.CodeLength goes down to 3 digits, below the 6 pyotp makes."""
    entity = sdk.verify.v2.services(service.sid).entities(IDENTITY)
    factor = entity.new_factors.create(friendly_name="Short codes", factor_type="totp", config_code_length=code_length)
    six = pyotp.TOTP(factor.binding["secret"])

    def code(steps: int = 0) -> str:
        return six.at(datetime.now(timezone.utc) + timedelta(seconds=steps * 30))[-code_length:]
    assert entity.factors(factor.sid).update(auth_payload=code()).status == "verified"
    clock.tick(30)
    assert entity.challenges.create(factor_sid=factor.sid, auth_payload=code()).status == "approved"


@pytest.mark.parametrize("skew", [0, 1, 2])
def test_a_code_matches_its_own_step_within_the_skew(skew):
    secret = pyotp.random_base32()
    config = totp.TotpConfig(30, 6, skew, "sha1")
    app = pyotp.TOTP(secret)
    now = 1_900_000_015.0
    current = app.timecode(now)
    for step in range(-skew - 2, skew + 3):
        code = app.generate_otp(current + step)
        expected = current + step if abs(step) <= skew else -1
        if expected == -1 and any(app.generate_otp(current + s) == code for s in range(-skew, skew + 1)):
            continue  # a code outside the window that happens to equal one inside it (one in a million)
        assert totp.matched_counter(secret, config, code, now) == expected
    assert totp.matched_counter(secret, config, app.at(10), 10.0) == 0  # the first step of all
