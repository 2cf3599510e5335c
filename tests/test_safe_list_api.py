"""/v2/SafeList/Numbers, Verify's account-wide SafeList: through the official `twilio` SDK, and raw
HTTP for the exact JSON, the encodings of the number in the path and malformed requests."""
import time

import pytest
import requests

from tests.api_asserts import invalid, refused
from tests.support import API_KEY, API_SECRET, APP_ACCOUNT_SID, LANDLINE, MOBILE, SECRET_KEY
from verify.sids import NumberTags
from verify.store.connection import connect
from verify.store.verifications import Store

AUTH = (API_KEY, API_SECRET)


def _add(live, data):
    return requests.post(f"{live.url}/v2/SafeList/Numbers", data=data, auth=AUTH, timeout=10)


def test_add_answers_as_verify(sdk, live):
    entry = sdk.verify.v2.safelist.create(phone_number=MOBILE)
    assert entry.sid.startswith("GN") and len(entry.sid) == 34
    assert entry.phone_number == MOBILE
    assert entry.url == f"{live.url}/v2/SafeList/Numbers/{MOBILE}"

    raw = requests.get(f"{live.url}/v2/SafeList/Numbers/%2B{MOBILE[1:]}", auth=AUTH, timeout=10)
    assert raw.status_code == 200
    assert raw.json() == {"sid": entry.sid, "phone_number": MOBILE, "url": entry.url}


def test_sdk_fetch_and_delete(sdk):
    entry = sdk.verify.v2.safelist.create(phone_number=MOBILE)
    fetched = sdk.verify.v2.safelist(MOBILE).fetch()
    assert (fetched.sid, fetched.phone_number) == (entry.sid, MOBILE)
    assert sdk.verify.v2.safelist(MOBILE).delete() is True
    refused(sdk.verify.v2.safelist(MOBILE).fetch, 404, 20404)
    refused(sdk.verify.v2.safelist(MOBILE).delete, 404, 20404)


@pytest.mark.parametrize("path", [MOBILE, "%2B" + MOBILE[1:], "%2B44%207400%20123456", "+44-7400-123456"])
def test_the_number_in_the_path_may_be_encoded_or_written_loosely(sdk, live, path):
    entry = sdk.verify.v2.safelist.create(phone_number=MOBILE)
    response = requests.get(f"{live.url}/v2/SafeList/Numbers/{path}", auth=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["sid"] == entry.sid


def test_the_number_is_normalised_to_e164(sdk, live):
    entry = sdk.verify.v2.safelist.create(phone_number="+44 7400 123456")
    assert entry.phone_number == MOBILE
    # A + sent unencoded in a form arrives as a space; it is read as the +.
    duplicate = requests.post(f"{live.url}/v2/SafeList/Numbers", data="PhoneNumber=+447400123456",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}, auth=AUTH, timeout=10)
    assert duplicate.status_code == 400 and duplicate.json()["code"] == 60411


def test_adding_a_listed_number_again_is_60411(sdk):
    first = sdk.verify.v2.safelist.create(phone_number=MOBILE)
    message = refused(lambda: sdk.verify.v2.safelist.create(phone_number=MOBILE), 400, 60411)
    assert "already" in message and MOBILE not in message  # numbers are masked in messages
    assert sdk.verify.v2.safelist(MOBILE).fetch().sid == first.sid


def test_each_number_has_its_own_entry(sdk):
    mobile = sdk.verify.v2.safelist.create(phone_number=MOBILE)
    landline = sdk.verify.v2.safelist.create(phone_number=LANDLINE)
    assert mobile.sid != landline.sid
    sdk.verify.v2.safelist(MOBILE).delete()
    assert sdk.verify.v2.safelist(LANDLINE).fetch().sid == landline.sid
    refused(sdk.verify.v2.safelist(MOBILE).fetch, 404, 20404)


def test_a_number_not_listed_is_404(sdk, live):
    refused(sdk.verify.v2.safelist(MOBILE).fetch, 404, 20404)
    response = requests.delete(f"{live.url}/v2/SafeList/Numbers/%2B{MOBILE[1:]}", auth=AUTH, timeout=10)
    assert response.status_code == 404
    assert response.json()["code"] == 20404 and MOBILE not in response.json()["message"]


@pytest.mark.parametrize("number, reason", [
    ("+4474", "short"), ("447400123456", "+"), ("not a number", "phone number"), ("+999123456789", "code"),
])
def test_invalid_numbers_are_60200_naming_phone_number(live, number, reason):
    message = invalid(_add(live, {"PhoneNumber": number}), "`PhoneNumber`", reason)
    assert "`To`" not in message


@pytest.mark.parametrize("data", [{}, {"PhoneNumber": ""}, {"PhoneNumber": "   "}])
def test_phone_number_is_required(live, data):
    invalid(_add(live, data), "`PhoneNumber`")


def test_an_extension_is_refused(live):
    invalid(_add(live, {"PhoneNumber": "+1 212 555 0123 x123"}), "`PhoneNumber`", "extension")


def test_unknown_parameter_is_refused(live, sdk):
    invalid(_add(live, {"PhoneNumber": MOBILE, "FriendlyName": "Jane"}), "`FriendlyName`")
    refused(sdk.verify.v2.safelist(MOBILE).fetch, 404, 20404)


def test_an_unreadable_number_in_the_path_is_60200(live):
    response = requests.get(f"{live.url}/v2/SafeList/Numbers/abc", auth=AUTH, timeout=10)
    invalid(response, "`PhoneNumber`")


def test_credentials_are_required(live):
    response = requests.post(f"{live.url}/v2/SafeList/Numbers", data={"PhoneNumber": MOBILE}, timeout=10)
    assert response.status_code == 401 and response.json()["code"] == 20003
    assert requests.get(f"{live.url}/v2/SafeList/Numbers/%2B{MOBILE[1:]}", auth=AUTH, timeout=10).status_code == 404


def test_sends_read_the_safe_list_as_the_api_leaves_it(sdk, service, redis_url):
    store = Store(connect(redis_url), NumberTags(SECRET_KEY))

    def safe_listed(number: str) -> bool:
        return store.sending_state(service.sid, APP_ACCOUNT_SID, number, time.time()).safe_listed
    assert safe_listed(MOBILE) is False
    sdk.verify.v2.safelist.create(phone_number="+44 7400 123456")
    assert safe_listed(MOBILE) is True
    assert safe_listed(LANDLINE) is False
    sdk.verify.v2.safelist(MOBILE).delete()
    assert safe_listed(MOBILE) is False
