"""One number written two ways is one number everywhere: a lookup (a check by `To`, the
SafeList, BlockedNumbers, the number's lockout) reads the number as a send does."""
from __future__ import annotations

from urllib.parse import quote

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException

from tests.support import MOBILE, code_in
from verify import phone
from verify.errors import VerifyError

WITH_TRUNK_ZERO = "+4407400123456"  # MOBILE with the UK's trunk 0 after the country code
SPACED = "+44 7400 123456"


def test_a_check_finds_the_verification_however_the_number_was_written(sdk, service, standin):
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=WITH_TRUNK_ZERO, channel="sms")
    assert verification.to == MOBILE
    code = code_in(standin.wait_for_message(MOBILE))
    checks = sdk.verify.v2.services(service.sid).verification_checks
    assert checks.create(to=SPACED, code="000000").status == "pending"
    assert checks.create(to=WITH_TRUNK_ZERO, code=code).status == "approved"


def test_the_safe_list_and_blocks_take_either_spelling(client, auth):
    assert client.post("/v2/SafeList/Numbers", data={"PhoneNumber": MOBILE}, auth=auth).status_code == 201
    assert client.get(f"/v2/SafeList/Numbers/{quote(WITH_TRUNK_ZERO)}", auth=auth).get_json()["phone_number"] == MOBILE
    assert client.delete(f"/v2/SafeList/Numbers/{quote(WITH_TRUNK_ZERO)}", auth=auth).status_code == 204
    service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()["sid"]
    blocked = f"/v2/Services/{service}/BlockedNumbers"
    assert client.post(blocked, data={"PhoneNumber": WITH_TRUNK_ZERO}, auth=auth).get_json()["phone_number"] == MOBILE
    assert client.get(f"{blocked}/{quote(MOBILE)}", auth=auth).status_code == 200
    assert client.delete(f"{blocked}/{quote(WITH_TRUNK_ZERO)}", auth=auth).status_code == 204
    assert client.get(f"{blocked}/{quote(MOBILE)}", auth=auth).status_code == 404


def test_wrong_codes_lock_the_number_whichever_way_it_is_written(sdk, service):
    verifications = sdk.verify.v2.services(service.sid)
    for spelling in (MOBILE, WITH_TRUNK_ZERO):  # ten wrong codes, five under each spelling
        verifications.verifications.create(to=spelling, channel="sms")
        for _ in range(5):
            verifications.verification_checks.create(to=spelling, code="000000")
    with pytest.raises(TwilioRestException) as refused:  # ten failures of one number: it is locked
        verifications.verifications.create(to=SPACED, channel="sms")
    assert (refused.value.status, refused.value.code) == (429, 60202) and "locked" in refused.value.msg


CALLING_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=3000)
@given(calling_code=st.sampled_from(CALLING_CODES), national=st.text("0123456789", min_size=4, max_size=13))
def test_a_lookup_reads_a_number_exactly_as_a_send_does(calling_code, national):
    """normalize() skips the parse for a number already written as parse() writes it: for every
    calling code and any digits, it answers what the full parse answers, or refuses the same."""
    text = f"+{calling_code}{national}"
    try:
        number = phonenumbers.parse(text, None)
        expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        expected = None
    if expected is None:
        with pytest.raises(VerifyError):
            phone.normalize(text)
    else:
        assert phone.normalize(text) == expected
