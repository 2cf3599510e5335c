"""telverify's `phone` factors (a person's mobile, alternate and office phones, as Microsoft's
Security info keeps them): created through plain HTTP (the `twilio` SDK does not know their
binding parameters), read back through the SDK too; kinds and channels, one per kind, the
refusals a verification's `To` gets, and the number answered in full once, masked afterwards."""
from __future__ import annotations

import logging

import pytest
import requests

from tests.support import API_KEY, API_SECRET, LANDLINE, MOBILE

AUTH = (API_KEY, API_SECRET)
IDENTITY = "user-0001-abcdef"
DESK_PHONE = "+1 212 555 0123 x123"
DESK_E164 = "+12125550123"


def factors_url(live, service_sid: str, identity: str = IDENTITY) -> str:
    return f"{live.url}/v2/Services/{service_sid}/Entities/{identity}/Factors"


def add_phone(live, service_sid: str, kind: str, number: str, identity: str = IDENTITY, **params):
    data = {"FactorType": "phone", "FriendlyName": params.pop("FriendlyName", f"{kind.title()} phone"),
            "Config.Kind": kind, "Binding.PhoneNumber": number, **params}
    return requests.post(factors_url(live, service_sid, identity), data=data, auth=AUTH, timeout=10)


def created(answer) -> dict:
    assert answer.status_code == 201, answer.text
    return answer.json()


def refused(answer, status: int, code: int, *words: str) -> dict:
    body = answer.json()
    assert (answer.status_code, body["code"]) == (status, code), answer.text
    for word in words:
        assert word in body["message"], body["message"]
    return body


def test_each_kind_with_its_default_channel(live, service, sdk):
    mobile = created(add_phone(live, service.sid, "mobile", MOBILE))
    assert mobile["sid"].startswith("YF") and mobile["factor_type"] == "phone" and mobile["status"] == "unverified"
    assert mobile["binding"] == {"phone_number": MOBILE, "extension": None}  # in full, this once
    assert mobile["config"] == {"kind": "mobile", "channel": "sms", "phone_number": "+44 7*** ***456",
                                "extension": None}
    alternate = created(add_phone(live, service.sid, "alternate", LANDLINE))
    assert alternate["config"]["channel"] == "call" and alternate["config"]["phone_number"] == "+44 2* **** *000"
    office = created(add_phone(live, service.sid, "office", DESK_PHONE))
    assert office["binding"] == {"phone_number": DESK_E164, "extension": "123"}
    assert office["config"] == {"kind": "office", "channel": "call_approve", "phone_number": "+1 2**-***-*123",
                                "extension": "123"}

    # Afterwards the number is masked, through the API and the SDK alike.
    fetched = requests.get(f"{factors_url(live, service.sid)}/{mobile['sid']}", auth=AUTH, timeout=10).json()
    assert "binding" not in fetched and fetched["config"]["phone_number"] == "+44 7*** ***456"
    listed = requests.get(factors_url(live, service.sid), auth=AUTH, timeout=10)
    assert MOBILE not in listed.text and LANDLINE not in listed.text and DESK_E164 not in listed.text
    assert [f["config"]["kind"] for f in listed.json()["factors"]] == ["mobile", "alternate", "office"]
    factor = sdk.verify.v2.services(service.sid).entities(IDENTITY).factors(office["sid"]).fetch()
    assert (factor.factor_type, factor.status, factor.friendly_name) == ("phone", "unverified", "Office phone")
    assert factor.config["phone_number"] == "+1 2**-***-*123"


def test_the_extension_as_its_own_parameter(live, service):
    office = created(add_phone(live, service.sid, "office", DESK_E164, **{"Binding.Extension": "4021",
                                                                           "Config.Channel": "call"}))
    assert office["binding"] == {"phone_number": DESK_E164, "extension": "4021"}
    assert (office["config"]["extension"], office["config"]["channel"]) == ("4021", "call")


def test_a_mobile_may_prefer_a_call(live, service):
    mobile = created(add_phone(live, service.sid, "mobile", MOBILE, **{"Config.Channel": "call_approve"}))
    assert mobile["config"]["channel"] == "call_approve"


@pytest.mark.parametrize("kind,number,params,words", [
    ("office", DESK_PHONE, {"Config.Channel": "sms"}, ("Config.Channel", "office phone", "call or call_approve")),
    ("alternate", LANDLINE, {"Config.Channel": "sms"}, ("Config.Channel", "alternate phone")),
    ("mobile", MOBILE, {"Config.Channel": "email"}, ("Config.Channel",)),
    ("mobile", MOBILE, {"Binding.Extension": "123"}, ("only an office phone has an extension",)),
    ("alternate", "+12125550123x123", {}, ("only an office phone has an extension",)),
    ("office", DESK_PHONE, {"Binding.Extension": "123"}, ("not both",)),
    ("office", DESK_E164, {"Binding.Extension": "12a"}, ("Binding.Extension", "digits")),
    ("office", DESK_E164, {"Binding.Extension": "12345678901"}, ("Binding.Extension", "digits")),
    ("desk", MOBILE, {}, ("Config.Kind", "mobile, alternate, office")),
    ("mobile", "+44 7400", {}, ("Binding.PhoneNumber", "not a valid phone number")),
    ("mobile", "hello", {}, ("Binding.PhoneNumber",)),
    ("mobile", "", {}, ("Binding.PhoneNumber",)),
    ("mobile", MOBILE, {"Config.TimeStep": "30"}, ("Config.TimeStep", "phone factors")),
    ("mobile", MOBILE, {"Binding.Secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}, ("Binding.Secret",)),
])
def test_refusals_are_60200(live, service, kind, number, params, words):
    refused(add_phone(live, service.sid, kind, number, **params), 400, 60200, *words)
    assert requests.get(factors_url(live, service.sid), auth=AUTH, timeout=10).status_code == 404  # no entity made


def test_the_kind_is_required(live, service):
    answer = requests.post(factors_url(live, service.sid), auth=AUTH, timeout=10,
                           data={"FactorType": "phone", "FriendlyName": "Phone", "Binding.PhoneNumber": MOBILE})
    refused(answer, 400, 60200, "Config.Kind")


def test_a_text_to_a_landline_called_mobile_is_60205(live, service):
    refused(add_phone(live, service.sid, "mobile", LANDLINE), 400, 60205, "landline")
    assert created(add_phone(live, service.sid, "mobile", LANDLINE, **{"Config.Channel": "call"}))


def test_numbers_telverify_never_reaches_are_refused(live, service, sdk):
    refused(add_phone(live, service.sid, "mobile", "+449012345678"), 403, 60605, "premium-rate")
    refused(add_phone(live, service.sid, "office", "+2348031234567"), 403, 60605, "ALLOWED_COUNTRIES")
    narrowed = sdk.verify.v2.services.create(friendly_name="UK only")
    requests.post(f"{live.url}/v2/Services/{narrowed.sid}", data={"AllowedCountries": "GB"}, auth=AUTH, timeout=10)
    refused(add_phone(live, narrowed.sid, "office", DESK_PHONE), 403, 60605, "AllowedCountries")
    blocked = requests.post(f"{live.url}/v2/Services/{service.sid}/BlockedNumbers", data={"PhoneNumber": MOBILE},
                            auth=AUTH, timeout=10)
    assert blocked.status_code == 201, blocked.text
    body = refused(add_phone(live, service.sid, "mobile", MOBILE), 403, 60605, "fraud")
    assert MOBILE not in body["message"]
    refused(add_phone(live, "VA" + "0" * 32, "mobile", MOBILE), 404, 20404)


def test_one_phone_of_each_kind(live, service):
    mobile = created(add_phone(live, service.sid, "mobile", MOBILE))
    refused(add_phone(live, service.sid, "mobile", "+447400123457"), 409, 60317, "has a mobile phone already")
    created(add_phone(live, service.sid, "alternate", "+447400123457"))  # another kind: fine
    created(add_phone(live, service.sid, "mobile", "+447400123457", identity="user-0002-abcdef"))  # another entity
    deleted = requests.delete(f"{factors_url(live, service.sid)}/{mobile['sid']}", auth=AUTH, timeout=10)
    assert deleted.status_code == 204
    created(add_phone(live, service.sid, "mobile", "+447400123457"))  # a new number: delete, then add


def test_update_the_name_and_channel_not_the_number(live, service, sdk):
    office = created(add_phone(live, service.sid, "office", DESK_PHONE))
    url = f"{factors_url(live, service.sid)}/{office['sid']}"
    updated = requests.post(url, data={"FriendlyName": "Desk", "Config.Channel": "call"}, auth=AUTH, timeout=10)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["friendly_name"], updated.json()["config"]["channel"]) == ("Desk", "call")
    refused(requests.post(url, data={"Config.Channel": "sms"}, auth=AUTH, timeout=10), 400, 60200, "office phone")
    refused(requests.post(url, data={"AuthPayload": "123456"}, auth=AUTH, timeout=10), 400, 60200,
            "first approved challenge")
    refused(requests.post(url, data={"Binding.PhoneNumber": MOBILE}, auth=AUTH, timeout=10), 400, 60200,
            "Binding.PhoneNumber")
    refused(requests.post(url, data={"Config.Skew": "1"}, auth=AUTH, timeout=10), 400, 60200, "Config.Skew")
    totp = sdk.verify.v2.services(service.sid).entities(IDENTITY).new_factors.create(friendly_name="App",
                                                                                     factor_type="totp")
    refused(requests.post(f"{factors_url(live, service.sid)}/{totp.sid}", data={"Config.Channel": "sms"}, auth=AUTH,
                          timeout=10), 400, 60200, "Config.Channel", "totp factors")


def test_numbers_never_appear_in_clear_in_the_log(live, service, caplog):
    caplog.set_level(logging.DEBUG)
    created(add_phone(live, service.sid, "mobile", MOBILE))
    add_phone(live, service.sid, "office", "+449012345678")
    add_phone(live, service.sid, "office", "+2348031234567")
    assert caplog.records, "the app logged nothing: the test would prove nothing"
    for number in (MOBILE, "+449012345678", "+2348031234567", "7400123456", "9012345678"):
        assert number not in caplog.text
