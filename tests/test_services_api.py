"""/v2/Services as a relying application uses it: through the official `twilio` SDK, and raw
HTTP where the SDK cannot say it (pagination meta, unknown parameters, telverify extensions)."""
from datetime import datetime

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.support import API_KEY, API_SECRET, APP_ACCOUNT_SID, MOBILE

AUTH = (API_KEY, API_SECRET)


def _post(live, path, data):
    return requests.post(live.url + path, data=data, auth=AUTH, timeout=10)


def _assert_invalid(response, *words):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 60200 and body["status"] == 400
    assert body["more_info"] == "https://www.twilio.com/docs/errors/60200"
    for word in words:
        assert word in body["message"], body["message"]
    return body


# -- create, fetch, update, delete -------------------------------------------------------------

def test_create_with_every_supported_setting(sdk, live):
    created = sdk.verify.v2.services.create(
        friendly_name="Acme Login", code_length=8, do_not_share_warning_enabled=True,
        custom_code_enabled=True, skip_sms_to_landlines=True, dtmf_input_required=True,
        lookup_enabled=True)

    assert created.sid.startswith("VA") and len(created.sid) == 34
    assert created.account_sid == APP_ACCOUNT_SID
    assert created.friendly_name == "Acme Login"
    assert created.code_length == 8
    assert created.do_not_share_warning_enabled is True
    assert created.custom_code_enabled is True
    assert created.skip_sms_to_landlines is True
    assert created.dtmf_input_required is True
    assert created.lookup_enabled is True
    assert created.psd2_enabled is False
    assert created.tts_name is None
    assert created.default_template_sid is None
    assert created.verify_event_subscription_enabled is False
    assert (created.push, created.whatsapp) == ({}, {})
    assert created.totp == {"issuer": "Acme Login", "time_step": 30, "code_length": 6, "skew": 1}
    assert isinstance(created.date_created, datetime) and isinstance(created.date_updated, datetime)
    assert created.date_created == created.date_updated
    assert created.url == f"{live.url}/v2/Services/{created.sid}"
    assert created.links == {
        "verifications": f"{live.url}/v2/Services/{created.sid}/Verifications",
        "verification_checks": f"{live.url}/v2/Services/{created.sid}/VerificationCheck",
    }

    fetched = sdk.verify.v2.services(created.sid).fetch()
    for name in ("sid", "friendly_name", "code_length", "do_not_share_warning_enabled", "custom_code_enabled",
                 "skip_sms_to_landlines", "dtmf_input_required", "lookup_enabled", "date_created",
                 "date_updated", "url"):
        assert getattr(fetched, name) == getattr(created, name), name


def test_defaults(sdk, live):
    created = sdk.verify.v2.services.create(friendly_name="Plain")
    assert created.code_length == 6
    assert created.do_not_share_warning_enabled is False
    assert created.custom_code_enabled is False
    assert created.skip_sms_to_landlines is False
    assert created.dtmf_input_required is False
    assert created.lookup_enabled is False
    raw = requests.get(f"{live.url}/v2/Services/{created.sid}", auth=AUTH, timeout=10)
    assert raw.status_code == 200
    assert raw.json()["code_expiry_seconds"] == 600
    assert raw.json()["code_length"] == 6


def test_fetch_unknown_service_is_404(sdk):
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services("VA" + "0" * 32).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)


@pytest.mark.parametrize("service_sid", ["VA" + "0" * 32, "VAnot-a-sid"])
@pytest.mark.parametrize("to,channel", [(MOBILE, "sms"), ("not a number", "sms"), (MOBILE, "whatsapp")])
def test_starting_a_verification_on_an_unknown_service_is_404_before_anything_else(live, service_sid, to, channel):
    """As Verify: the missing service is the error, whatever else is wrong with the request."""
    response = _post(live, f"/v2/Services/{service_sid}/Verifications", {"To": to, "Channel": channel})
    assert response.status_code == 404, response.text
    assert response.json()["code"] == 20404
    assert service_sid in response.json()["message"]


def test_update(sdk, service):
    updated = sdk.verify.v2.services(service.sid).update(friendly_name="Acme Renamed", code_length=4)
    assert updated.sid == service.sid
    assert updated.friendly_name == "Acme Renamed"
    assert updated.code_length == 4
    assert updated.date_created == service.date_created
    assert updated.date_updated >= updated.date_created

    fetched = sdk.verify.v2.services(service.sid).fetch()
    assert (fetched.friendly_name, fetched.code_length) == ("Acme Renamed", 4)
    # What was not named in the update is left as it was.
    assert fetched.do_not_share_warning_enabled is False
    assert fetched.custom_code_enabled is False


def test_update_changes_the_code_length_of_new_codes(sdk, service, standin):
    from tests.support import code_in
    sdk.verify.v2.services(service.sid).update(code_length=9)
    sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    assert len(code_in(standin.wait_for_message(MOBILE))) == 9


def test_update_refuses_bad_values(sdk, service):
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services(service.sid).update(code_length=11)
    assert (raised.value.status, raised.value.code) == (400, 60200)
    assert "CodeLength" in raised.value.msg
    assert sdk.verify.v2.services(service.sid).fetch().code_length == 6


def test_update_unknown_service_is_404(sdk):
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services("VA" + "1" * 32).update(friendly_name="Nobody")
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_delete_then_fetch_is_404(sdk, service):
    assert sdk.verify.v2.services(service.sid).delete() is True
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services(service.sid).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services(service.sid).delete()
    assert (raised.value.status, raised.value.code) == (404, 20404)
    assert [s.sid for s in sdk.verify.v2.services.list()] == []


def test_verification_under_a_deleted_service_is_404(sdk, service, standin):
    sdk.verify.v2.services(service.sid).delete()
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    assert (raised.value.status, raised.value.code) == (404, 20404)
    assert standin.messages(MOBILE) == []


# -- listing -------------------------------------------------------------------------------------

def _create_seven(sdk):
    return [sdk.verify.v2.services.create(friendly_name=f"Service {n}").sid for n in range(7)]


def test_sdk_lists_every_service_in_creation_order_across_pages(sdk, live):
    sids = _create_seven(sdk)
    listed = sdk.verify.v2.services.list(page_size=3)
    assert [s.sid for s in listed] == sids
    assert [s.friendly_name for s in listed] == [f"Service {n}" for n in range(7)]
    assert [s.sid for s in sdk.verify.v2.services.list(limit=4, page_size=3)] == sids[:4]


def test_raw_pages_and_their_meta(sdk, live):
    sids = _create_seven(sdk)
    first = requests.get(live.url + "/v2/Services?PageSize=3", auth=AUTH, timeout=10)
    assert first.status_code == 200
    body = first.json()
    meta = body["meta"]
    assert set(meta) >= {"page", "page_size", "first_page_url", "previous_page_url", "url", "next_page_url",
                         "key"}
    assert meta["key"] == "services"
    assert (meta["page"], meta["page_size"]) == (0, 3)
    assert meta["previous_page_url"] is None
    assert meta["first_page_url"].startswith(live.url + "/v2/Services?")
    assert meta["url"].startswith(live.url + "/v2/Services?")
    assert meta["next_page_url"].startswith(live.url + "/v2/Services?")
    seen = [s["sid"] for s in body["services"]]
    assert seen == sids[:3]

    second = requests.get(meta["next_page_url"], auth=AUTH, timeout=10).json()
    assert second["meta"]["page"] == 1
    assert second["meta"]["previous_page_url"] is not None
    assert [s["sid"] for s in second["services"]] == sids[3:6]
    assert second["meta"]["next_page_url"] is not None

    third = requests.get(second["meta"]["next_page_url"], auth=AUTH, timeout=10).json()
    assert third["meta"]["page"] == 2
    assert [s["sid"] for s in third["services"]] == sids[6:]
    assert third["meta"]["next_page_url"] is None

    # previous_page_url and first_page_url lead back.
    back = requests.get(third["meta"]["previous_page_url"], auth=AUTH, timeout=10).json()
    assert [s["sid"] for s in back["services"]] == sids[3:6]
    again = requests.get(third["meta"]["first_page_url"], auth=AUTH, timeout=10).json()
    assert [s["sid"] for s in again["services"]] == sids[:3]


def test_exactly_full_last_page_has_no_next(sdk, live):
    sids = [sdk.verify.v2.services.create(friendly_name=f"S{n}").sid for n in range(3)]
    body = requests.get(live.url + "/v2/Services?PageSize=3", auth=AUTH, timeout=10).json()
    assert [s["sid"] for s in body["services"]] == sids
    assert body["meta"]["next_page_url"] is None


def test_empty_list(sdk, live):
    body = requests.get(live.url + "/v2/Services", auth=AUTH, timeout=10).json()
    assert body["services"] == []
    assert body["meta"]["next_page_url"] is None
    assert body["meta"]["page_size"] == 50


@pytest.mark.parametrize("query, parameter", [
    ("PageSize=0", "PageSize"), ("PageSize=1001", "PageSize"), ("PageSize=abc", "PageSize"),
    ("Page=-1", "Page"), ("PageToken=bogus", "PageToken"),
])
def test_bad_paging_parameters(live, query, parameter):
    response = requests.get(f"{live.url}/v2/Services?{query}", auth=AUTH, timeout=10)
    _assert_invalid(response, f"`{parameter}`")


# -- invalid parameters --------------------------------------------------------------------------

@pytest.mark.parametrize("length", [3, 11])
def test_code_length_out_of_range_via_sdk(sdk, length):
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services.create(friendly_name="Acme", code_length=length)
    assert (raised.value.status, raised.value.code) == (400, 60200)
    assert "CodeLength" in raised.value.msg
    assert sdk.verify.v2.services.list() == []


@pytest.mark.parametrize("value", ["3", "11", "six", "", "6.5"])
def test_code_length_invalid_raw(live, value):
    _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "Acme", "CodeLength": value}), "CodeLength")


@pytest.mark.parametrize("data", [{}, {"CodeLength": "6"}, {"FriendlyName": "   "}])
def test_friendly_name_is_required(live, data):
    _assert_invalid(_post(live, "/v2/Services", data), "FriendlyName")


def test_friendly_name_too_long(live):
    _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "x" * 65}), "FriendlyName")


@pytest.mark.parametrize("kwargs, parameter", [
    ({"psd2_enabled": True}, "Psd2Enabled"),
    ({"whatsapp_from": "+15017122661"}, "Whatsapp.From"),
    ({"push_include_date": True}, "Push.IncludeDate"),
    ({"default_template_sid": "HJ" + "0" * 32}, "DefaultTemplateSid"),
    ({"verify_event_subscription_enabled": True}, "VerifyEventSubscriptionEnabled"),
])
def test_unsupported_parameters_are_refused_by_name(sdk, kwargs, parameter):
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services.create(friendly_name="Acme", **kwargs)
    assert (raised.value.status, raised.value.code) == (400, 60200)
    assert parameter in raised.value.msg and "not supported" in raised.value.msg
    assert sdk.verify.v2.services.list() == []


@pytest.mark.parametrize("data, parameter", [
    ({"FriendlyName": "Acme", "Psd2Enabled": "true"}, "Psd2Enabled"),
    ({"FriendlyName": "Acme", "Whatsapp.MsgServiceSid": "MG" + "0" * 32}, "Whatsapp.MsgServiceSid"),
])
def test_unsupported_parameters_raw(live, data, parameter):
    _assert_invalid(_post(live, "/v2/Services", data), parameter, "not supported")


def test_unsupported_parameter_on_update(sdk, service):
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services(service.sid).update(psd2_enabled=True)
    assert (raised.value.status, raised.value.code) == (400, 60200)
    assert "Psd2Enabled" in raised.value.msg and "not supported" in raised.value.msg


def test_unknown_parameter_is_refused(live):
    body = _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "Acme", "Colour": "blue"}), "Colour")
    assert "not supported" not in body["message"]
    assert requests.get(live.url + "/v2/Services", auth=AUTH, timeout=10).json()["services"] == []


@pytest.mark.parametrize("parameter", ["LookupEnabled", "CustomCodeEnabled", "DoNotShareWarningEnabled"])
def test_booleans_must_be_true_or_false(live, parameter):
    _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "Acme", parameter: "yes"}), parameter)


def test_friendly_name_with_markup_is_refused(live):
    _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "<script>"}), "FriendlyName")


# -- telverify's CodeExpirySeconds -------------------------------------------------------------

def test_code_expiry_seconds_is_accepted_and_returned(live):
    created = _post(live, "/v2/Services", {"FriendlyName": "Quick", "CodeExpirySeconds": "120"})
    assert created.status_code == 201, created.text
    sid = created.json()["sid"]
    assert created.json()["code_expiry_seconds"] == 120
    fetched = requests.get(f"{live.url}/v2/Services/{sid}", auth=AUTH, timeout=10).json()
    assert fetched["code_expiry_seconds"] == 120

    updated = _post(live, f"/v2/Services/{sid}", {"CodeExpirySeconds": "900"})
    assert updated.status_code == 200 and updated.json()["code_expiry_seconds"] == 900


def test_code_expiry_seconds_sets_the_verification_lifetime(live, sdk, standin):
    sid = _post(live, "/v2/Services", {"FriendlyName": "Quick", "CodeExpirySeconds": "120"}).json()["sid"]
    started = _post(live, f"/v2/Services/{sid}/Verifications", {"To": MOBILE, "Channel": "sms"})
    assert started.status_code == 201, started.text
    body = started.json()
    created = datetime.strptime(body["date_created"], "%Y-%m-%dT%H:%M:%SZ")
    expires = datetime.strptime(body["date_expires"], "%Y-%m-%dT%H:%M:%SZ")
    assert 119 <= (expires - created).total_seconds() <= 121


@pytest.mark.parametrize("value", ["29", "86401", "soon"])
def test_code_expiry_seconds_out_of_range(live, value):
    _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "Acme", "CodeExpirySeconds": value}),
                    "CodeExpirySeconds")


@pytest.mark.parametrize("value", ["٦", "1_0", "+6", " ", "6.0", "0x6"])
def test_numbers_are_plain_ascii_digits(live, value):
    _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "Acme", "CodeLength": value}), "CodeLength")


@pytest.mark.parametrize("name", ["Acme\x00", "Acme\nPay", "<b>Acme</b>"])
def test_custom_friendly_name_is_checked_like_friendly_name(sdk, service, standin, name):
    with pytest.raises(TwilioRestException) as raised:
        sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms", custom_friendly_name=name)
    assert raised.value.code == 60200 and "CustomFriendlyName" in raised.value.msg
    assert standin.messages(MOBILE) == []


# -- TOTP settings: the defaults of the service's TOTP factors -----------------------------------

def test_totp_settings_default_then_change(sdk):
    created = sdk.verify.v2.services.create(friendly_name="Acme")
    assert created.totp == {"issuer": "Acme", "time_step": 30, "code_length": 6, "skew": 1}
    updated = sdk.verify.v2.services(created.sid).update(totp_issuer="Acme Corp", totp_time_step=60,
                                                        totp_code_length=8, totp_skew=0)
    assert updated.totp == {"issuer": "Acme Corp", "time_step": 60, "code_length": 8, "skew": 0}
    assert sdk.verify.v2.services(created.sid).fetch().totp == updated.totp
    # The issuer follows the friendly name until it is set.
    renamed = sdk.verify.v2.services.create(friendly_name="Plain", totp_skew=2)
    renamed = sdk.verify.v2.services(renamed.sid).update(friendly_name="Plain Renamed")
    assert renamed.totp == {"issuer": "Plain Renamed", "time_step": 30, "code_length": 6, "skew": 2}


@pytest.mark.parametrize("data, parameter", [
    ({"Totp.TimeStep": "19"}, "Totp.TimeStep"), ({"Totp.TimeStep": "61"}, "Totp.TimeStep"),
    ({"Totp.CodeLength": "2"}, "Totp.CodeLength"), ({"Totp.CodeLength": "9"}, "Totp.CodeLength"),
    ({"Totp.Skew": "3"}, "Totp.Skew"), ({"Totp.Skew": "-1"}, "Totp.Skew"),
    ({"Totp.Issuer": "x" * 65}, "Totp.Issuer"), ({"Totp.Issuer": "<b>"}, "Totp.Issuer"),
])
def test_totp_settings_out_of_range_are_refused(live, data, parameter):
    _assert_invalid(_post(live, "/v2/Services", {"FriendlyName": "Acme", **data}), parameter)
