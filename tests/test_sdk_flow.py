"""The whole SMS flow as a relying application sees it, through the official `twilio` SDK."""
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.support import MOBILE, code_in


def test_sms_verification_is_sent_and_approved(sdk, service, standin):
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    assert verification.status == "pending"
    assert verification.sid.startswith("VE") and len(verification.sid) == 34
    assert len(verification.send_code_attempts) == 1

    message = standin.wait_for_message(MOBILE)
    code = code_in(message)
    assert len(code) == 6
    assert message["body"] == f"Your Acme verification code is: {code}"

    check = sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code=code)
    assert check.status == "approved" and check.valid is True
    assert check.sid == verification.sid

    fetched = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch()
    assert fetched.status == "approved"


def test_wrong_code_is_pending_and_not_valid(sdk, service, standin):
    sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    code = code_in(standin.wait_for_message(MOBILE))
    wrong = "000000" if code != "000000" else "111111"
    check = sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code=wrong)
    assert (check.status, check.valid) == ("pending", False)


def test_check_by_verification_sid(sdk, service, standin):
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    code = code_in(standin.wait_for_message(MOBILE))
    check = sdk.verify.v2.services(service.sid).verification_checks.create(
        verification_sid=verification.sid, code=code)
    assert check.status == "approved"


def test_wrong_credentials_are_refused(live):
    from tests.support import verify_client
    bad = verify_client(live.url, secret="not-the-secret-at-all")
    with pytest.raises(TwilioRestException) as raised:
        bad.verify.v2.services.create(friendly_name="Acme")
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_the_whole_flow_over_a_redis_unix_socket(tmp_path, standin):
    """REDIS_URL=unix://... (how ./dev run and the benchmark reach their private Redis): the
    store, the hot path's own connection and the rate limits all work over the socket."""
    from tests.support import LiveServer, make_env, start_redis, verify_client
    process, url = start_redis(str(tmp_path), unix_socket=True)
    try:
        with LiveServer(lambda base: make_env(url, standin.base_url, base, LIMIT_SENDS_PER_NUMBER="2 per hour")) \
                as server:
            sdk = verify_client(server.url)
            service = sdk.verify.v2.services.create(friendly_name="Acme")
            verifications = sdk.verify.v2.services(service.sid).verifications
            verifications.create(to=MOBILE, channel="sms")
            code = code_in(standin.wait_for_message(MOBILE))
            checks = sdk.verify.v2.services(service.sid).verification_checks
            wrong = checks.create(to=MOBILE, code="000000" if code != "000000" else "111111")
            assert (wrong.status, wrong.valid) == ("pending", False)
            assert checks.create(to=MOBILE, code=code).status == "approved"
            verifications.create(to=MOBILE, channel="sms")  # the number's second send this hour
            with pytest.raises(TwilioRestException) as refused:  # the limiter counts over the socket too
                verifications.create(to=MOBILE, channel="sms")
            assert (refused.value.status, refused.value.code) == (429, 60203)
    finally:
        process.terminate()
        process.wait(10)
