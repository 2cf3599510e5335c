"""Abuse protection: numbers we never reach, geo permissions, built-in limits, lockout across
verifications, the block list; every refusal clear, and none reaching the Twilio stand-in."""
from __future__ import annotations

import logging

import pytest
from freezegun import freeze_time

from tests.support import LANDLINE, MOBILE, make_env

OTHER_MOBILE = "+447400123457"  # same prefix (+44740) as MOBILE
FAR_MOBILE = "+447800123456"  # another prefix (+44780)
NEVER = {
    "premium-rate": "+449012345678",
    "shared-cost": "+4918012345",
    "universal access": "+445512345678",
    "personal (forwarding)": "+447012345678",
    "pager": "+447640123456",
}


def create_service(client, auth, **params):
    answer = client.post("/v2/Services", data={"FriendlyName": "Acme", **params}, auth=auth)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["sid"]


def start(client, auth, service, to=MOBILE, channel="sms", **params):
    return client.post(f"/v2/Services/{service}/Verifications", data={"To": to, "Channel": channel, **params},
                       auth=auth)


def check(client, auth, service, code, to=MOBILE):
    return client.post(f"/v2/Services/{service}/VerificationCheck", data={"To": to, "Code": code}, auth=auth)


def refused(answer, status, code, *words):
    body = answer.get_json()
    assert answer.status_code == status, body
    assert body["code"] == code, body
    for word in words:
        assert word in body["message"], body["message"]
    return body


def cancel(client, auth, service, answer):
    sid = answer.get_json()["sid"]
    canceled = client.post(f"/v2/Services/{service}/Verifications/{sid}", data={"Status": "canceled"}, auth=auth)
    assert canceled.status_code == 200


# --- numbers and countries we never reach -------------------------------------------------------

@pytest.mark.parametrize("kind,number", NEVER.items(), ids=list(NEVER))
@pytest.mark.parametrize("channel", ["sms", "call", "call_approve"])
def test_numbers_we_never_reach(client, auth, standin, kind, number, channel):
    service = create_service(client, auth)
    refused(start(client, auth, service, number, channel), 403, 60605, kind)
    assert standin.requests(number) == []


def test_a_country_outside_the_geo_permissions_is_refused(client, auth, standin):
    service = create_service(client, auth)
    for number, country in (("+2348021234567", "NG"), ("+18762101234", "JM"), ("+5351234567", "CU")):
        refused(start(client, auth, service, number), 403, 60605, country, "ALLOWED_COUNTRIES")
        assert standin.requests(number) == []
    assert start(client, auth, service, "+4915123456789").status_code == 201  # Germany is allowed


def test_a_service_can_narrow_its_geo_permissions(client, auth):
    service = create_service(client, auth, AllowedCountries="GB, +33")
    assert start(client, auth, service, MOBILE).status_code == 201
    assert start(client, auth, service, "+33612345678").status_code == 201
    refused(start(client, auth, service, "+4915123456789"), 403, 60605, "DE", "AllowedCountries")
    client.post(f"/v2/Services/{service}", data={"AllowedCountries": "default"}, auth=auth)
    assert start(client, auth, service, "+4915123456789").status_code == 201
    fetched = client.get(f"/v2/Services/{service}", auth=auth).get_json()
    assert fetched["allowed_countries"] is None


def test_the_deployment_can_allow_every_country(redis_url, standin, auth):
    from app import create_app
    client = create_app(make_env(redis_url, standin.base_url, "http://localhost", ALLOWED_COUNTRIES="*")).test_client()
    service = create_service(client, auth)
    assert start(client, auth, service, "+2348021234567").status_code == 201
    refused(start(client, auth, service, NEVER["premium-rate"]), 403, 60605, "premium-rate")  # still never


@pytest.mark.parametrize("param,value", [("AllowedCountries", "Narnia"), ("LimitSendsPerNumber", "lots"),
                                         ("LimitSendsPerPrefix", "0 per hour")])
def test_bad_protection_settings_are_refused_by_name(client, auth, param, value):
    answer = client.post("/v2/Services", data={"FriendlyName": "Acme", param: value}, auth=auth)
    refused(answer, 400, 60200, param)


# --- built-in limits ----------------------------------------------------------------------------

def test_defaults_allow_everything_verify_allows_in_one_verification(client, auth, standin):
    service = create_service(client, auth)
    for _ in range(5):
        assert start(client, auth, service).status_code == 201
    refused(start(client, auth, service), 429, 60203, "sent 5 times")  # Verify's own rule, not ours
    for _ in range(4):
        assert check(client, auth, service, "000000").get_json()["status"] == "pending"
    assert check(client, auth, service, "000000").get_json()["status"] == "max_attempts_reached"


def test_sends_per_number(client, auth, standin):
    service = create_service(client, auth, LimitSendsPerNumber="3 per 10 minutes; 30 per day")
    with freeze_time("2026-11-24 10:00:00") as clock:
        for _ in range(3):
            assert start(client, auth, service).status_code == 201
        answer = start(client, auth, service)
        refused(answer, 429, 60203, "3 codes sent to this number per 10 minutes")
        assert answer.headers["Retry-After"] == "600"
        assert len(standin.requests(MOBILE)) == 3
        assert start(client, auth, service, FAR_MOBILE).status_code == 201  # another number: its own count
        clock.tick(601)
        assert start(client, auth, service).status_code == 201


def test_calls_are_limited_lower_than_texts(client, auth, standin):
    standin.set_callee(LANDLINE, answer="no-answer")
    service = create_service(client, auth)
    first = start(client, auth, service, LANDLINE, "call")
    for _ in range(4):
        assert start(client, auth, service, LANDLINE, "call").status_code == 201
    cancel(client, auth, service, first)  # a new verification, a sixth call in 10 minutes
    answer = start(client, auth, service, LANDLINE, "call")
    refused(answer, 429, 60203, "5 calls to this number per 10 minutes")
    assert int(answer.headers["Retry-After"]) > 500


def test_verifications_per_number_count_new_ones_not_resends(client, auth):
    service = create_service(client, auth, LimitVerificationsPerNumber="2 per day")
    cancel(client, auth, service, start(client, auth, service))
    for _ in range(3):  # one new verification and two re-sends
        answer = start(client, auth, service)
        assert answer.status_code == 201
    cancel(client, auth, service, answer)
    refused(start(client, auth, service), 429, 60203, "2 verifications started for this number per day")


def test_a_surge_to_one_prefix_is_refused_as_pumping(client, auth, standin, caplog):
    service = create_service(client, auth, LimitSendsPerPrefix="2 per hour")
    assert start(client, auth, service, MOBILE).status_code == 201
    assert start(client, auth, service, OTHER_MOBILE).status_code == 201
    caplog.set_level(logging.WARNING, "telverify.protection")
    answer = start(client, auth, service, "+447400123458")
    refused(answer, 429, 60410, "+44740", "SMS pumping")
    assert "Retry-After" in answer.headers
    assert any("possible SMS pumping" in record.getMessage() for record in caplog.records)
    assert standin.requests("+447400123458") == []
    assert start(client, auth, service, FAR_MOBILE).status_code == 201


def test_a_daily_cap_per_service(client, auth):
    service = create_service(client, auth, LimitSendsPerService="2 per day")
    other = create_service(client, auth)
    assert start(client, auth, service, MOBILE).status_code == 201
    assert start(client, auth, service, FAR_MOBILE).status_code == 201
    refused(start(client, auth, service, "+4915123456789"), 429, 20429, "2 codes sent by this service per day")
    assert start(client, auth, other, "+4915123456789").status_code == 201


def test_deployment_wide_limits(redis_url, standin, auth):
    from app import create_app
    env = make_env(redis_url, standin.base_url, "http://localhost", LIMIT_SENDS_PER_NUMBER="1 per minute")
    client = create_app(env).test_client()
    service = create_service(client, auth)
    assert start(client, auth, service).status_code == 201
    refused(start(client, auth, service), 429, 60203, "1 codes sent to this number per minute")


def test_a_bad_deployment_limit_stops_the_start(redis_url, standin):
    from app import create_app
    from config import ConfigError
    with pytest.raises(ConfigError, match="LIMIT_SENDS_PER_PREFIX"):
        create_app(make_env(redis_url, standin.base_url, "http://localhost", LIMIT_SENDS_PER_PREFIX="many"))
    with pytest.raises(ConfigError, match="LOCKOUT_FAILED_CHECKS"):
        create_app(make_env(redis_url, standin.base_url, "http://localhost", LOCKOUT_FAILED_CHECKS="500"))


# --- lockout across verifications ----------------------------------------------------------------

@pytest.fixture
def strict(redis_url, standin):
    from app import create_app
    env = make_env(redis_url, standin.base_url, "http://localhost", LOCKOUT_FAILED_CHECKS="3")
    return create_app(env).test_client()


def code_sent(standin, to=MOBILE):
    from tests.support import code_in
    return code_in(standin.wait_for_message(to, count=len(standin.messages(to))))


def test_failures_across_verifications_lock_the_number(client, auth, standin):
    service = create_service(client, auth)
    with freeze_time("2026-11-24 10:00:00"):
        for _ in range(2):  # two verifications, five wrong codes each: ten failures
            assert start(client, auth, service).status_code == 201
            for _ in range(5):
                check(client, auth, service, "000000")
        answer = start(client, auth, service)
        refused(answer, 429, 60202, "locked", "900")
        assert answer.headers["Retry-After"] == "900"


def test_the_right_code_is_refused_until_the_lock_lifts_and_locks_grow(strict, auth, standin):
    service = create_service(strict, auth, CodeExpirySeconds="3600")  # outlives the first lockout
    with freeze_time("2026-11-24 10:00:00") as clock:
        start(strict, auth, service)
        code = code_sent(standin)
        for _ in range(3):
            assert check(strict, auth, service, "000000").get_json()["status"] == "pending"
        answer = check(strict, auth, service, code)
        refused(answer, 429, 60202, "locked for 900 more seconds")
        clock.tick(899)
        refused(check(strict, auth, service, code), 429, 60202)
        clock.tick(2)  # the lock has lifted: the same verification takes checks again
        assert check(strict, auth, service, "000000").get_json()["status"] == "pending"
        assert check(strict, auth, service, "000000").get_json()["status"] == "max_attempts_reached"
        assert start(strict, auth, service).status_code == 201
        code = code_sent(standin)
        check(strict, auth, service, "000000")  # three failures since the lock: locked again, twice as long
        refused(check(strict, auth, service, code), 429, 60202, "locked for 1800 more seconds")
        clock.tick(1801)
        start(strict, auth, service)
        assert check(strict, auth, service, code_sent(standin)).get_json()["status"] == "approved"


def test_a_right_code_clears_the_failures(strict, auth, standin):
    service = create_service(strict, auth)
    start(strict, auth, service)
    code = code_sent(standin)
    check(strict, auth, service, "000000")
    check(strict, auth, service, "000000")
    assert check(strict, auth, service, code).get_json()["status"] == "approved"
    start(strict, auth, service)
    check(strict, auth, service, "000000")
    check(strict, auth, service, "000000")
    assert check(strict, auth, service, code_sent(standin)).get_json()["status"] == "approved"


# --- block list ------------------------------------------------------------------------------------

def test_admins_block_list_and_unblock(client, auth, standin):
    service = create_service(client, auth)
    added = client.post(f"/v2/Services/{service}/BlockedNumbers", data={"PhoneNumber": MOBILE, "Days": "30"},
                        auth=auth)
    assert added.status_code == 201 and added.get_json()["phone_number"] == MOBILE
    refused(start(client, auth, service), 403, 60605, "30 more days")
    assert standin.requests(MOBILE) == []
    listed = client.get(f"/v2/Services/{service}/BlockedNumbers", auth=auth).get_json()
    assert [entry["phone_number"] for entry in listed["blocked_numbers"]] == [MOBILE]
    assert client.get(f"/v2/Services/{service}/BlockedNumbers/%2B447400123456", auth=auth).status_code == 200
    assert client.delete(f"/v2/Services/{service}/BlockedNumbers/%2B447400123456", auth=auth).status_code == 204
    assert client.get(f"/v2/Services/{service}/BlockedNumbers", auth=auth).get_json()["blocked_numbers"] == []
    assert client.delete(f"/v2/Services/{service}/BlockedNumbers/%2B447400123456", auth=auth).status_code == 404
    assert start(client, auth, service).status_code == 201
    assert len(standin.requests(MOBILE)) == 1


def test_a_block_answers_the_same_lift_time_each_time_it_is_read(client, auth):
    service = create_service(client, auth)
    with freeze_time("2026-11-24 10:00:00.600") as clock:
        added = client.post(f"/v2/Services/{service}/BlockedNumbers", data={"PhoneNumber": MOBILE, "Days": "30"},
                            auth=auth).get_json()
        assert added["date_blocked_until"] == "2026-12-24T10:00:00Z"
        for _ in range(3):
            clock.tick(3600.5)
            fetched = client.get(f"/v2/Services/{service}/BlockedNumbers/%2B447400123456", auth=auth)
            assert fetched.get_json()["date_blocked_until"] == added["date_blocked_until"]
        listed = client.get(f"/v2/Services/{service}/BlockedNumbers", auth=auth).get_json()["blocked_numbers"]
        assert [entry["date_blocked_until"] for entry in listed] == [added["date_blocked_until"]]
