"""/v2/Services/{sid}/RateLimits and their Buckets, as an application configures them: through the
official `twilio` SDK, and raw HTTP where the SDK cannot say it (exact JSON, list meta, bad forms)."""
from datetime import datetime

import pytest
import redis
import requests

from tests.api_asserts import at_once, invalid, list_refused, refused
from tests.support import API_KEY, API_SECRET, APP_ACCOUNT_SID
from verify.store import admin, keys
from verify.store.admin import AdminStore, Bucket
from verify.store.connection import connect

AUTH = (API_KEY, API_SECRET)
RATE_LIMIT_FIELDS = ["sid", "service_sid", "account_sid", "unique_name", "description", "date_created",
                     "date_updated", "url", "links"]
BUCKET_FIELDS = ["sid", "rate_limit_sid", "service_sid", "account_sid", "max", "interval", "date_created",
                 "date_updated", "url"]


def _post(live, path, data):
    return requests.post(f"{live.url}/v2/{path}", data=data, auth=AUTH, timeout=10)


def _get(live, path):
    return requests.get(f"{live.url}/v2/{path}", auth=AUTH, timeout=10)


@pytest.fixture
def limits(sdk, service):
    return sdk.verify.v2.services(service.sid).rate_limits


@pytest.fixture
def rate_limit(limits):
    return limits.create(unique_name="end_user_ip_address", description="Limit by end user IP")


@pytest.fixture
def buckets(limits, rate_limit):
    return limits(rate_limit.sid).buckets


@pytest.fixture
def admin_store(redis_url):
    return AdminStore(connect(redis_url))


# -- rate limits: create, fetch, update, delete --------------------------------------------------

def test_create_answers_every_field_as_verify(sdk, service, live, rate_limit):
    assert rate_limit.sid.startswith("RK") and len(rate_limit.sid) == 34
    assert rate_limit.service_sid == service.sid
    assert rate_limit.account_sid == APP_ACCOUNT_SID
    assert rate_limit.unique_name == "end_user_ip_address"
    assert rate_limit.description == "Limit by end user IP"
    assert isinstance(rate_limit.date_created, datetime)
    assert rate_limit.date_created == rate_limit.date_updated
    base = f"{live.url}/v2/Services/{service.sid}/RateLimits/{rate_limit.sid}"
    assert rate_limit.url == base
    assert rate_limit.links == {"buckets": base + "/Buckets"}

    raw = _get(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}")
    assert raw.status_code == 200
    assert list(raw.json()) == RATE_LIMIT_FIELDS


def test_fetch_answers_what_create_did(limits, rate_limit):
    fetched = limits(rate_limit.sid).fetch()
    for name in ("sid", "service_sid", "unique_name", "description", "date_created", "date_updated", "url", "links"):
        assert getattr(fetched, name) == getattr(rate_limit, name), name


def test_description_is_optional(limits):
    created = limits.create(unique_name="session_id")
    assert created.description is None
    assert limits(created.sid).fetch().description is None


def test_update_changes_only_the_description(limits, rate_limit):
    updated = limits(rate_limit.sid).update(description="Per IP address")
    assert updated.description == "Per IP address"
    assert updated.unique_name == rate_limit.unique_name
    assert updated.date_created == rate_limit.date_created
    assert updated.date_updated >= rate_limit.date_updated
    assert limits(rate_limit.sid).fetch().description == "Per IP address"


def test_update_with_an_empty_description_clears_it(live, service, limits, rate_limit):
    response = _post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}", {"Description": ""})
    assert response.status_code == 200 and response.json()["description"] is None
    assert limits(rate_limit.sid).fetch().description is None


def test_update_without_parameters_changes_nothing(live, service, rate_limit):
    response = _post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}", {})
    assert response.status_code == 200
    assert response.json()["description"] == "Limit by end user IP"


def test_unique_name_cannot_be_updated(live, service, limits, rate_limit):
    invalid(_post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}", {"UniqueName": "other"}),
             "UniqueName")
    assert limits(rate_limit.sid).fetch().unique_name == "end_user_ip_address"


def test_delete_then_fetch_update_delete_are_404(limits, rate_limit):
    assert limits(rate_limit.sid).delete() is True
    refused(limits(rate_limit.sid).fetch, 404, 20404)
    refused(lambda: limits(rate_limit.sid).update(description="x"), 404, 20404)
    refused(limits(rate_limit.sid).delete, 404, 20404)
    assert limits.list() == []


def test_a_deleted_rate_limit_frees_its_unique_name(limits, rate_limit):
    limits(rate_limit.sid).delete()
    again = limits.create(unique_name="end_user_ip_address")
    assert again.sid != rate_limit.sid
    assert [r.sid for r in limits.list()] == [again.sid]


def test_deleting_a_rate_limit_deletes_its_buckets(limits, rate_limit, buckets, redis_url, service):
    kept = limits.create(unique_name="phone_number_prefix")
    kept_bucket = limits(kept.sid).buckets.create(max=3, interval=60)
    doomed = [buckets.create(max=5, interval=60).sid, buckets.create(max=50, interval=3600).sid]

    limits(rate_limit.sid).delete()

    for sid in doomed:
        refused(buckets(sid).fetch, 404, 20404)
    list_refused(buckets.list)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    leftovers = [key for key in client.scan_iter(keys.service_tag(service.sid) + "*")
                 if rate_limit.sid in key or any(sid in key for sid in doomed)]
    assert leftovers == []
    assert rate_limit.sid not in client.zrange(keys.rate_limits_index(service.sid), 0, -1)
    # The service's other rate limit and its bucket are untouched.
    assert limits(kept.sid).buckets(kept_bucket.sid).fetch().max == 3


# -- rate limits: refusals ---------------------------------------------------------------------

def test_duplicate_unique_name_is_60208(limits, rate_limit):
    message = refused(lambda: limits.create(unique_name="end_user_ip_address"), 400, 60208)
    assert "end_user_ip_address" in message
    assert [r.sid for r in limits.list()] == [rate_limit.sid]


def test_the_same_unique_name_in_another_service_is_fine(sdk, rate_limit):
    other = sdk.verify.v2.services.create(friendly_name="Other")
    created = sdk.verify.v2.services(other.sid).rate_limits.create(unique_name="end_user_ip_address")
    assert created.service_sid == other.sid and created.sid != rate_limit.sid


def test_concurrent_creates_of_one_name_make_one_rate_limit(live, service, limits):
    answers = at_once(8, lambda n: _post(live, f"Services/{service.sid}/RateLimits", {"UniqueName": "same"}))
    assert sorted(r.status_code for r in answers) == [201] + [400] * 7
    assert {r.json()["code"] for r in answers if r.status_code == 400} == {60208}
    assert [r.unique_name for r in limits.list()] == ["same"]


@pytest.mark.parametrize("data", [{}, {"Description": "no name"}, {"UniqueName": "   "}])
def test_unique_name_is_required(live, service, data):
    invalid(_post(live, f"Services/{service.sid}/RateLimits", data), "UniqueName")


def test_unique_name_of_255_characters_is_the_longest(live, service, limits):
    assert _post(live, f"Services/{service.sid}/RateLimits", {"UniqueName": "n" * 255}).status_code == 201
    invalid(_post(live, f"Services/{service.sid}/RateLimits", {"UniqueName": "m" * 256}), "UniqueName", "255")
    assert [len(r.unique_name) for r in limits.list()] == [255]


@pytest.mark.parametrize("name", ["+14155552671", "+44 7400 123456", "(415) 555-2671", "jane@example.com",
                                  "user:jane.doe@example.org", "ip\x00address"])
def test_unique_name_refuses_personal_data_and_control_characters(limits, name):
    message = refused(lambda: limits.create(unique_name=name))
    assert "UniqueName" in message
    assert limits.list() == []


@pytest.mark.parametrize("name", ["end_user_ip_address", "phone_number_country_code", "session id 2024",
                                  "user.agent+ip"])
def test_ordinary_unique_names_are_accepted(limits, name):
    assert limits.create(unique_name=name).unique_name == name


def test_description_too_long(live, service):
    invalid(_post(live, f"Services/{service.sid}/RateLimits", {"UniqueName": "a", "Description": "d" * 256}),
             "Description")


def test_unknown_parameter_is_refused_by_name(live, service, limits):
    invalid(_post(live, f"Services/{service.sid}/RateLimits", {"UniqueName": "a", "Max": "5"}), "`Max`")
    assert limits.list() == []


def test_too_many_rate_limits_is_60207(limits, monkeypatch):
    monkeypatch.setattr(admin, "MAX_RATE_LIMITS", 2)
    limits.create(unique_name="one")
    limits.create(unique_name="two")
    assert "2" in refused(lambda: limits.create(unique_name="three"), 400, 60207)
    assert [r.unique_name for r in limits.list()] == ["one", "two"]


# -- rate limits: unknown and foreign sids -----------------------------------------------------

def test_unknown_service_is_404(sdk):
    missing = sdk.verify.v2.services("VA" + "0" * 32).rate_limits
    refused(lambda: missing.create(unique_name="a"), 404, 20404)
    list_refused(missing.list)
    refused(missing("RK" + "0" * 32).fetch, 404, 20404)


def test_deleted_service_is_404(sdk, service, limits, rate_limit):
    sdk.verify.v2.services(service.sid).delete()
    list_refused(limits.list)
    refused(limits(rate_limit.sid).fetch, 404, 20404)


def test_a_deleted_service_takes_its_rate_limits_buckets_and_blocks(sdk, live, service, limits, redis_url):
    for name in ("end_user_ip_address", "user_id"):
        limits(limits.create(unique_name=name).sid).buckets.create(max=5, interval=60)
    for number in ("+447400123456", "+447400123457"):
        assert _post(live, f"Services/{service.sid}/BlockedNumbers", {"PhoneNumber": number}).status_code == 201
    other = sdk.verify.v2.services.create(friendly_name="Other")
    sdk.verify.v2.services(other.sid).rate_limits.create(unique_name="user_id")
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    def keys_of(sid):
        return list(client.scan_iter(f"*{sid}*", count=1000))
    assert len(keys_of(service.sid)) >= 2 + 2 + 2 + 2 + 2  # hash, index, names, buckets, blocks

    sdk.verify.v2.services(service.sid).delete()

    assert keys_of(service.sid) == []
    assert keys_of(other.sid)  # another service's are kept
    assert sdk.verify.v2.services(other.sid).rate_limits.list()[0].unique_name == "user_id"


@pytest.mark.parametrize("sid", ["RK" + "1" * 32, "RK123", "BL" + "1" * 32, "RK" + "G" * 32])
def test_unknown_or_malformed_rate_limit_sid_is_404(limits, sid):
    refused(limits(sid).fetch, 404, 20404)
    refused(lambda: limits(sid).update(description="x"), 404, 20404)
    refused(limits(sid).delete, 404, 20404)
    refused(lambda: limits(sid).buckets.create(max=1, interval=1), 404, 20404)
    list_refused(limits(sid).buckets.list)


def test_another_services_rate_limit_is_404(sdk, limits, rate_limit, buckets):
    bucket = buckets.create(max=5, interval=60)
    other = sdk.verify.v2.services(sdk.verify.v2.services.create(friendly_name="Other").sid).rate_limits
    refused(other(rate_limit.sid).fetch, 404, 20404)
    refused(lambda: other(rate_limit.sid).update(description="hijacked"), 404, 20404)
    refused(other(rate_limit.sid).delete, 404, 20404)
    list_refused(other(rate_limit.sid).buckets.list)
    refused(lambda: other(rate_limit.sid).buckets.create(max=1, interval=1), 404, 20404)
    refused(other(rate_limit.sid).buckets(bucket.sid).fetch, 404, 20404)
    refused(lambda: other(rate_limit.sid).buckets(bucket.sid).update(max=1), 404, 20404)
    refused(other(rate_limit.sid).buckets(bucket.sid).delete, 404, 20404)
    assert other.list() == []
    # Nothing changed in the owner's service.
    assert limits(rate_limit.sid).fetch().description == "Limit by end user IP"
    assert [(b.sid, b.max) for b in buckets.list()] == [(bucket.sid, 5)]


# -- rate limits: listing ----------------------------------------------------------------------

def test_sdk_lists_every_rate_limit_in_creation_order_across_pages(limits):
    names = [f"limit_{n}" for n in range(7)]
    sids = [limits.create(unique_name=name).sid for name in names]
    listed = limits.list(page_size=3)
    assert [r.sid for r in listed] == sids
    assert [r.unique_name for r in listed] == names
    assert [r.sid for r in limits.list(limit=4, page_size=3)] == sids[:4]


def test_raw_pages_and_their_meta(live, service, limits):
    sids = [limits.create(unique_name=f"limit_{n}").sid for n in range(5)]
    path = f"Services/{service.sid}/RateLimits"
    first = _get(live, path + "?PageSize=2").json()
    meta = first["meta"]
    assert meta["key"] == "rate_limits"
    assert (meta["page"], meta["page_size"], meta["previous_page_url"]) == (0, 2, None)
    assert meta["first_page_url"] == f"{live.url}/v2/{path}?PageSize=2&Page=0"
    assert [r["sid"] for r in first["rate_limits"]] == sids[:2]
    assert all(list(r) == RATE_LIMIT_FIELDS for r in first["rate_limits"])

    second = requests.get(meta["next_page_url"], auth=AUTH, timeout=10).json()
    assert second["meta"]["page"] == 1
    assert [r["sid"] for r in second["rate_limits"]] == sids[2:4]
    third = requests.get(second["meta"]["next_page_url"], auth=AUTH, timeout=10).json()
    assert [r["sid"] for r in third["rate_limits"]] == sids[4:]
    assert third["meta"]["next_page_url"] is None
    back = requests.get(third["meta"]["previous_page_url"], auth=AUTH, timeout=10).json()
    assert [r["sid"] for r in back["rate_limits"]] == sids[2:4]


def test_empty_list_matches_verify(live, service):
    body = _get(live, f"Services/{service.sid}/RateLimits").json()
    assert body["rate_limits"] == []
    assert body["meta"]["page_size"] == 50 and body["meta"]["next_page_url"] is None
    assert body["meta"]["url"] == f"{live.url}/v2/Services/{service.sid}/RateLimits?PageSize=50&Page=0"


@pytest.mark.parametrize("query, parameter", [("PageSize=0", "PageSize"), ("PageSize=1001", "PageSize"),
                                              ("Page=x", "Page"), ("PageToken=nope", "PageToken")])
def test_bad_paging_parameters(live, service, rate_limit, query, parameter):
    invalid(_get(live, f"Services/{service.sid}/RateLimits?{query}"), f"`{parameter}`")
    invalid(_get(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets?{query}"), f"`{parameter}`")


# -- buckets -----------------------------------------------------------------------------------

def test_bucket_create_answers_every_field_as_verify(live, service, rate_limit, buckets):
    bucket = buckets.create(max=5, interval=60)
    assert bucket.sid.startswith("BL") and len(bucket.sid) == 34
    assert (bucket.rate_limit_sid, bucket.service_sid, bucket.account_sid) == (rate_limit.sid, service.sid,
                                                                                APP_ACCOUNT_SID)
    assert (bucket.max, bucket.interval) == (5, 60)
    assert bucket.date_created == bucket.date_updated
    path = f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets/{bucket.sid}"
    assert bucket.url == f"{live.url}/v2/{path}"
    raw = _get(live, path)
    assert raw.status_code == 200 and list(raw.json()) == BUCKET_FIELDS
    assert (raw.json()["max"], raw.json()["interval"]) == (5, 60)


def test_bucket_fetch_and_list(buckets):
    minute = buckets.create(max=5, interval=60)
    hour = buckets.create(max=20, interval=3600)
    day = buckets.create(max=100, interval=86400)
    assert buckets(hour.sid).fetch().max == 20
    assert [(b.sid, b.max, b.interval) for b in buckets.list(page_size=2)] == [
        (minute.sid, 5, 60), (hour.sid, 20, 3600), (day.sid, 100, 86400)]


def test_bucket_raw_list_meta(live, service, rate_limit, buckets):
    sids = [buckets.create(max=1, interval=n).sid for n in (10, 20, 30)]
    path = f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets"
    body = _get(live, path + "?PageSize=2").json()
    assert body["meta"]["key"] == "buckets"
    assert body["meta"]["url"] == f"{live.url}/v2/{path}?PageSize=2&Page=0"
    assert [b["sid"] for b in body["buckets"]] == sids[:2]
    rest = requests.get(body["meta"]["next_page_url"], auth=AUTH, timeout=10).json()
    assert [b["sid"] for b in rest["buckets"]] == sids[2:] and rest["meta"]["next_page_url"] is None
    assert _get(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets").json()["meta"]["page_size"] == 50


def test_bucket_update_max_then_interval(buckets):
    bucket = buckets.create(max=5, interval=60)
    changed = buckets(bucket.sid).update(max=8)
    assert (changed.max, changed.interval) == (8, 60)
    assert changed.date_updated >= bucket.date_updated and changed.date_created == bucket.date_created
    changed = buckets(bucket.sid).update(interval=120)
    assert (changed.max, changed.interval) == (8, 120)
    fetched = buckets(bucket.sid).fetch()
    assert (fetched.max, fetched.interval) == (8, 120)


def test_bucket_update_without_parameters_changes_nothing(live, service, rate_limit, buckets):
    bucket = buckets.create(max=5, interval=60)
    response = _post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets/{bucket.sid}", {})
    assert response.status_code == 200 and (response.json()["max"], response.json()["interval"]) == (5, 60)


def test_bucket_delete(buckets):
    kept = buckets.create(max=5, interval=60)
    gone = buckets.create(max=9, interval=600)
    assert buckets(gone.sid).delete() is True
    refused(buckets(gone.sid).fetch, 404, 20404)
    refused(buckets(gone.sid).delete, 404, 20404)
    refused(lambda: buckets(gone.sid).update(max=1), 404, 20404)
    assert [b.sid for b in buckets.list()] == [kept.sid]


@pytest.mark.parametrize("data, parameter", [
    ({"Interval": "60"}, "Max"), ({"Max": "5"}, "Interval"), ({}, "Max"),
])
def test_bucket_max_and_interval_are_required(live, service, rate_limit, buckets, data, parameter):
    invalid(_post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets", data),
             f"`{parameter}`", "required")
    assert buckets.list() == []


@pytest.mark.parametrize("parameter, value", [
    ("Max", "0"), ("Max", "-1"), ("Max", "1000001"), ("Max", "five"), ("Max", "1.5"), ("Max", ""),
    ("Interval", "0"), ("Interval", "86401"), ("Interval", "1e3"), ("Interval", " "),
])
def test_bucket_values_out_of_range(live, service, rate_limit, buckets, parameter, value):
    data = {"Max": "5", "Interval": "60", parameter: value}
    invalid(_post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets", data), f"`{parameter}`")
    assert buckets.list() == []


def test_bucket_limits_of_the_ranges_are_accepted(buckets):
    assert (buckets.create(max=1, interval=1).max, buckets.create(max=1_000_000, interval=86_400).interval) == (
        1, 86_400)


@pytest.mark.parametrize("kwargs, parameter", [({"max": 0}, "Max"), ({"interval": 86401}, "Interval")])
def test_bucket_update_refuses_bad_values(buckets, kwargs, parameter):
    bucket = buckets.create(max=5, interval=60)
    assert parameter in refused(lambda: buckets(bucket.sid).update(**kwargs))
    fetched = buckets(bucket.sid).fetch()
    assert (fetched.max, fetched.interval) == (5, 60)


def test_bucket_unknown_parameter(live, service, rate_limit):
    invalid(_post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets",
                   {"Max": "5", "Interval": "60", "Period": "60"}), "`Period`")


def test_one_bucket_per_interval_is_60211(buckets):
    minute = buckets.create(max=5, interval=60)
    refused(lambda: buckets.create(max=10, interval=60), 400, 60211)
    hour = buckets.create(max=50, interval=3600)
    refused(lambda: buckets(hour.sid).update(interval=60), 400, 60211)
    # A bucket keeps its own interval while changing its max.
    assert buckets(minute.sid).update(max=6, interval=60).max == 6
    assert [(b.max, b.interval) for b in buckets.list()] == [(6, 60), (50, 3600)]


def test_concurrent_bucket_creates_with_one_interval_make_one_bucket(live, service, rate_limit, buckets):
    answers = at_once(8, lambda n: _post(live, f"Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets",
                                         {"Max": str(n + 1), "Interval": "60"}))
    assert sorted(r.status_code for r in answers) == [201] + [400] * 7
    assert {r.json()["code"] for r in answers if r.status_code == 400} == {60211}
    assert len(buckets.list()) == 1


def test_too_many_buckets_is_60210(buckets, monkeypatch):
    monkeypatch.setattr(admin, "MAX_BUCKETS", 2)
    buckets.create(max=1, interval=1)
    buckets.create(max=2, interval=2)
    refused(lambda: buckets.create(max=3, interval=3), 400, 60210)
    assert len(buckets.list()) == 2


def test_a_bucket_under_another_rate_limit_is_404(limits, buckets):
    bucket = buckets.create(max=5, interval=60)
    other = limits(limits.create(unique_name="session_id").sid).buckets
    refused(other(bucket.sid).fetch, 404, 20404)
    refused(lambda: other(bucket.sid).update(max=1), 404, 20404)
    refused(other(bucket.sid).delete, 404, 20404)
    assert buckets(bucket.sid).fetch().max == 5


@pytest.mark.parametrize("sid", ["BL" + "2" * 32, "BL12", "RK" + "2" * 32])
def test_unknown_or_malformed_bucket_sid_is_404(buckets, sid):
    refused(buckets(sid).fetch, 404, 20404)
    refused(lambda: buckets(sid).update(max=1), 404, 20404)
    refused(buckets(sid).delete, 404, 20404)


# -- AdminStore.buckets_for: what enforcement reads --------------------------------------------

def test_buckets_for_answers_the_named_rate_limits_buckets(admin_store, service, limits, rate_limit, buckets):
    minute = buckets.create(max=5, interval=60)
    hour = buckets.create(max=20, interval=3600)
    limits(limits.create(unique_name="session_id").sid).buckets.create(max=1, interval=1)

    found = admin_store.buckets_for(service.sid, "end_user_ip_address")
    assert [(b.sid, b.rate_limit_sid, b.max, b.interval) for b in found] == [
        (minute.sid, rate_limit.sid, 5, 60), (hour.sid, rate_limit.sid, 20, 3600)]
    assert all(isinstance(b, Bucket) for b in found)
    with pytest.raises(AttributeError):
        found[0].max = 1  # frozen

    buckets(minute.sid).update(max=7)
    assert [b.max for b in admin_store.buckets_for(service.sid, "end_user_ip_address")] == [7, 20]


def test_buckets_for_unknown_name_empty_rate_limit_and_after_delete(admin_store, sdk, service, limits, rate_limit):
    assert admin_store.buckets_for(service.sid, "no_such_limit") is None
    assert admin_store.buckets_for(service.sid, "end_user_ip_address") == []
    other = sdk.verify.v2.services.create(friendly_name="Other")
    assert admin_store.buckets_for(other.sid, "end_user_ip_address") is None
    limits(rate_limit.sid).delete()
    assert admin_store.buckets_for(service.sid, "end_user_ip_address") is None


def test_buckets_for_is_one_round_trip(admin_store, service, buckets, monkeypatch):
    buckets.create(max=5, interval=60)
    buckets.create(max=6, interval=61)
    admin_store.buckets_for(service.sid, "end_user_ip_address")  # loads the script
    sent = []
    original = admin_store.redis.execute_command
    monkeypatch.setattr(admin_store.redis, "execute_command",
                        lambda *args, **kwargs: sent.append(args[0]) or original(*args, **kwargs))
    assert len(admin_store.buckets_for(service.sid, "end_user_ip_address")) == 2
    assert sent == ["EVALSHA"]
