"""Verify's rules for one verification: re-sends, limits, expiry, final states, and secrecy."""
import datetime as dt
import hashlib
import logging
import time

import pytest
import redis
from freezegun import freeze_time
from twilio.base.exceptions import TwilioRestException

from app import create_app
from tests.support import API_KEY, API_SECRET, MOBILE, code_in, make_env, stored_checks, stored_record
from verify import sids
from verify.sids import TAG_HEX
from verify.store import keys
from verify.store.round_trip import IDLE_SECONDS


def start(sdk, service, to=MOBILE, **kwargs):
    return sdk.verify.v2.services(service.sid).verifications.create(to=to, channel="sms", **kwargs)


def check(sdk, service, code, to=MOBILE):
    return sdk.verify.v2.services(service.sid).verification_checks.create(to=to, code=code)


def wrong_code(code):
    return "".join(str((int(d) + 1) % 10) for d in code)


def test_resend_sends_the_same_code_until_five_sends(sdk, service, standin):
    first = start(sdk, service)
    code = code_in(standin.wait_for_message(MOBILE))
    for sends in range(2, 6):
        again = start(sdk, service)
        assert again.sid == first.sid
        assert len(again.send_code_attempts) == sends
        assert code_in(standin.wait_for_message(MOBILE, count=sends)) == code
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service)
    assert (raised.value.status, raised.value.code) == (429, 60203)
    assert len(standin.messages(MOBILE)) == 5
    assert check(sdk, service, code).status == "approved"


def test_five_wrong_checks_then_max_attempts(sdk, service, standin):
    start(sdk, service)
    code = code_in(standin.wait_for_message(MOBILE))
    statuses = [check(sdk, service, wrong_code(code)).status for _ in range(5)]
    assert statuses == ["pending"] * 4 + ["max_attempts_reached"]
    with pytest.raises(TwilioRestException) as raised:
        check(sdk, service, code)  # even the right code: the verification is spent
    assert (raised.value.status, raised.value.code) == (429, 60202)


def test_right_code_approves_once_and_then_says_why(sdk, service, standin):
    verification = start(sdk, service)
    code = code_in(standin.wait_for_message(MOBILE))
    assert check(sdk, service, code).status == "approved"
    with pytest.raises(TwilioRestException) as raised:
        check(sdk, service, code)
    assert (raised.value.status, raised.value.code) == (404, 20404)
    assert "already approved" in raised.value.msg
    # Beyond Verify: the final status stays fetchable instead of vanishing.
    fetched = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch()
    assert fetched.status == "approved"


def test_a_new_verification_after_approval_has_a_new_sid(sdk, service, standin):
    first = start(sdk, service)
    check(sdk, service, code_in(standin.wait_for_message(MOBILE)))
    second = start(sdk, service)
    assert second.sid != first.sid and second.status == "pending"


def test_cancel_then_check_is_404_with_reason(sdk, service, standin):
    verification = start(sdk, service)
    code = code_in(standin.wait_for_message(MOBILE))
    canceled = sdk.verify.v2.services(service.sid).verifications(verification.sid).update(status="canceled")
    assert canceled.status == "canceled"
    with pytest.raises(TwilioRestException) as raised:
        check(sdk, service, code)
    assert raised.value.status == 404 and "canceled" in raised.value.msg
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services(service.sid).verifications(verification.sid).update(status="approved")
    assert raised.value.status == 404


def test_application_may_approve_a_pending_verification(sdk, service, standin):
    verification = start(sdk, service)
    approved = sdk.verify.v2.services(service.sid).verifications(verification.sid).update(status="approved")
    assert approved.status == "approved" and approved.valid is True


def _post(client, path, **form):
    return client.post(path, data=form, auth=(API_KEY, "relying-app-secret-0123456789"))


def test_codes_expire_after_ten_minutes(client, standin):
    service = _post(client, "/v2/Services", FriendlyName="Acme").get_json()["sid"]
    base = f"/v2/Services/{service}"
    start_time = dt.datetime(2026, 11, 24, 12, 0, 0)
    with freeze_time(start_time) as frozen:
        created = _post(client, f"{base}/Verifications", To=MOBILE, Channel="sms").get_json()
        code = code_in(standin.wait_for_message(MOBILE))
        frozen.tick(dt.timedelta(seconds=599))
        assert _post(client, f"{base}/VerificationCheck", To=MOBILE, Code=wrong_code(code)).status_code == 200
        frozen.tick(dt.timedelta(seconds=1))
        answer = _post(client, f"{base}/VerificationCheck", To=MOBILE, Code=code)
        assert answer.status_code == 404
        assert answer.get_json()["code"] == 20404 and "expired" in answer.get_json()["message"]
        fetched = client.get(f"{base}/Verifications/{created['sid']}", auth=(API_KEY, "relying-app-secret-0123456789"))
        assert fetched.get_json()["status"] == "expired"
        # An expired verification is not re-sent: a new one starts, with a new code.
        renewed = _post(client, f"{base}/Verifications", To=MOBILE, Channel="sms").get_json()
        assert renewed["sid"] != created["sid"]


def test_code_expiry_is_configurable_per_service(client, standin):
    service = _post(client, "/v2/Services", FriendlyName="Acme", CodeExpirySeconds="60").get_json()["sid"]
    with freeze_time(dt.datetime(2026, 11, 24, 12, 0, 0)) as frozen:
        _post(client, f"/v2/Services/{service}/Verifications", To=MOBILE, Channel="sms")
        code = code_in(standin.wait_for_message(MOBILE))
        frozen.tick(dt.timedelta(seconds=61))
        answer = _post(client, f"/v2/Services/{service}/VerificationCheck", To=MOBILE, Code=code)
        assert answer.status_code == 404


def test_code_length_and_custom_code(sdk, standin):
    service = sdk.verify.v2.services.create(friendly_name="Acme", code_length=8, custom_code_enabled=True)
    start(sdk, service)
    assert len(code_in(standin.wait_for_message(MOBILE))) == 8
    other = "+447400123457"
    start(sdk, service, to=other, custom_code="4242")
    assert code_in(standin.wait_for_message(other)) == "4242"
    assert check(sdk, service, "4242", to=other).status == "approved"


def test_custom_code_needs_the_service_setting(sdk, service):
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service, custom_code="4242")
    assert raised.value.code == 60200 and "CustomCodeEnabled" in raised.value.msg


@pytest.mark.parametrize("to,locale,expected", [
    ("+34612345678", None, "Tu código de verificación de Acme es: "),
    ("+33612345678", None, "Votre code de vérification Acme est : "),
    ("+4915123456789", None, "Ihr Acme Bestätigungscode lautet: "),
    ("+5511912345678", None, "O seu código de verificação Acme é: "),
    ("+34612345678", "en", "Your Acme verification code is: "),
    (MOBILE, "pt-BR", "O seu código de verificação Acme é: "),
])
def test_language_from_locale_or_country(sdk, service, standin, to, locale, expected):
    start(sdk, service, to=to, **({"locale": locale} if locale else {}))
    assert standin.wait_for_message(to)["body"].startswith(expected)


def test_do_not_share_warning_and_custom_friendly_name(sdk, standin):
    service = sdk.verify.v2.services.create(friendly_name="Acme", do_not_share_warning_enabled=True)
    start(sdk, service, custom_friendly_name="Acme Payroll")
    body = standin.wait_for_message(MOBILE)["body"]
    assert body.startswith("Your Acme Payroll verification code is: ")
    assert body.endswith("Don't share this code with anyone; our employees will never ask for the code.")


def test_unsupported_locale_is_refused(sdk, service, standin):
    with pytest.raises(TwilioRestException) as raised:
        start(sdk, service, locale="it")
    assert raised.value.code == 60200 and "Locale" in raised.value.msg
    assert standin.messages(MOBILE) == []


def test_redis_and_logs_never_hold_the_code(sdk, service, standin, redis_url, caplog):
    caplog.set_level(logging.DEBUG)
    start(sdk, service)
    code = code_in(standin.wait_for_message(MOBILE))
    check(sdk, service, wrong_code(code))
    check(sdk, service, code)
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    dump = []
    for key in store.scan_iter("*"):
        dump.append(key)
        if store.type(key) == "hash":
            dump.extend(store.hgetall(key).values())
        elif store.type(key) == "string":
            dump.append(store.get(key))
    assert dump and not any(code in value for value in dump)
    assert code not in caplog.text
    assert MOBILE not in caplog.text and MOBILE[:4] in caplog.text  # masked, not absent


def test_finished_verifications_are_kept_24_hours_for_fetching(sdk, service, standin, redis_url):
    verification = start(sdk, service)
    check(sdk, service, code_in(standin.wait_for_message(MOBILE)))
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    number_key, working_key = keys.verification_keys(service.sid, verification.sid)
    assert stored_record(store, service.sid, verification.sid)["st"] == "approved"
    assert 24 * 3600 < store.ttl(number_key) <= 24 * 3600 + 600 + 60  # the code's 10 minutes at most
    assert not store.exists(working_key)  # no code, salt or digest once it has ended


def test_check_survives_redis_losing_its_scripts(sdk, service, standin, redis_url):
    """A Redis restart or failover empties the script cache; the next check reloads the script."""
    start(sdk, service)
    code = code_in(standin.wait_for_message(MOBILE))
    redis.Redis.from_url(redis_url).script_flush()
    assert check(sdk, service, wrong_code(code)).status == "pending"
    assert check(sdk, service, code).status == "approved"


def test_checks_survive_redis_dropping_the_connections(client, auth, standin, redis_url):
    """Redis closes idle connections (its `timeout`) and forgets all of them on a restart. A
    connection that lay unused meanwhile is replaced before anything is sent on it, and the
    check counts exactly once; one used a moment before the drop answers 503 once, counting
    nothing (its bytes never reached Redis), and is replaced. (The test client runs every
    request on this thread, so each one reuses the connection the last one left.)"""
    service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()["sid"]
    url = f"/v2/Services/{service}/VerificationCheck"
    sid = client.post(f"/v2/Services/{service}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                      auth=auth).get_json()["sid"]
    code = code_in(standin.wait_for_message(MOBILE))
    store = redis.Redis.from_url(redis_url)
    for _ in range(3):
        assert store.client_kill_filter(_type="normal", skipme=True) >= 1
        time.sleep(IDLE_SECONDS + 0.2)
        answer = client.post(url, data={"To": MOBILE, "Code": wrong_code(code)}, auth=auth)
        assert answer.status_code == 200 and answer.get_json()["status"] == "pending"
    assert stored_checks(store, service, sid) == 3
    assert store.client_kill_filter(_type="normal", skipme=True) >= 1
    dropped = client.post(url, data={"To": MOBILE, "Code": wrong_code(code)}, auth=auth)
    assert dropped.status_code == 503
    assert stored_checks(store, service, sid) == 3
    answer = client.post(url, data={"To": MOBILE, "Code": code}, auth=auth)
    assert answer.get_json()["status"] == "approved"


def test_a_verification_sid_does_not_give_the_number_away(sdk, service, redis_url, standin):
    """A sid carries its number's tag (the Redis slot of its keys), keyed with SECRET_KEY: an
    unkeyed digest of a phone number is turned back into the number by trying them all."""
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    tag = verification.sid[2:2 + TAG_HEX]
    assert tag != hashlib.sha256(MOBILE.encode()).hexdigest()[:TAG_HEX]
    again = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    assert again.sid == verification.sid  # a re-send: the same pending verification
    # Another deployment (another SECRET_KEY) tags the same number otherwise.
    other = create_app(make_env(redis_url, standin.base_url, "http://localhost",
                                SECRET_KEY="another-secret-key-0123456789abcdef-0123")).test_client()
    auth = (API_KEY, API_SECRET)
    sid = other.post("/v2/Services", data={"FriendlyName": "Other"}, auth=auth).get_json()["sid"]
    theirs = other.post(f"/v2/Services/{sid}/Verifications", data={"To": MOBILE, "Channel": "sms"}, auth=auth)
    assert theirs.get_json()["sid"][2:2 + TAG_HEX] != tag


@pytest.mark.parametrize("value, prefix, valid", [
    ("VA" + "0123456789abcdef" * 2, "VA", True),
    ("VA" + "0123456789ABCDEF" * 2, "VA", False),  # Twilio's sids are lower-case hex
    ("VA" + "a" * 31, "VA", False), ("VA" + "a" * 33, "VA", False), ("VA" + "a" * 31 + "\n", "VA", False),
    ("YF" + "a" * 32, "VA", False), ("va" + "a" * 32, "VA", False), ("VA" + "g" * 32, "VA", False),
    ("VA" + "٣" * 32, "VA", False), ("", "VA", False), (None, "VA", False),
])
def test_what_a_sid_is(value, prefix, valid):
    assert sids.is_sid(value, prefix) is valid
