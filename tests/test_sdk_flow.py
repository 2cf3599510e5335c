"""The whole SMS flow as a relying application sees it, through the official `twilio` SDK."""
import pytest
from twilio.base.exceptions import TwilioRestException

from conftest import MOBILE, code_in


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
    from conftest import verify_client
    bad = verify_client(live.url, secret="not-the-secret-at-all")
    with pytest.raises(TwilioRestException) as raised:
        bad.verify.v2.services.create(friendly_name="Acme")
    assert (raised.value.status, raised.value.code) == (401, 20003)
