"""Accounts: an application reaches only what its account made. Two accounts driven through the
real `twilio` SDK; every operation of one on the other's resources answers 404 20404, worded as
for a sid that does not exist, and changes nothing."""
from __future__ import annotations

import json
import logging
import re
import signal

import pytest
import redis
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from app import create_app
from tests.support import (
    API_KEY,
    API_SECRET,
    APP_ACCOUNT_SID,
    KEY_SECRET,
    KEY_SID,
    MOBILE,
    SECOND_KEY,
    SECOND_SECRET,
    LiveServer,
    code_in,
    make_env,
    start_redis,
    verify_client,
)
from verify.accounts import account_sid_of
from verify.store import keys
from verify.store.upgrade import adopt_unowned
from verify.twilio.client import RedirectingHttpClient

SID = re.compile(r"\b(VA|VE|RK|BL|GN)[0-9a-f]{32}\b")
OTHER = "+447400123499"


@pytest.fixture
def second(live):
    """The second application: an account of its own."""
    return verify_client(live.url, SECOND_KEY, SECOND_SECRET)


@pytest.fixture
def first_world(sdk, standin):
    """The first account's resources: a service with a pending verification (its code), a rate
    limit with a bucket, a blocked number and a SafeList entry."""
    service = sdk.verify.v2.services.create(friendly_name="First")
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    code = code_in(standin.wait_for_message(MOBILE))
    rate_limit = sdk.verify.v2.services(service.sid).rate_limits.create(unique_name="end_user_ip")
    bucket = sdk.verify.v2.services(service.sid).rate_limits(rate_limit.sid).buckets.create(max=5, interval=60)
    entry = sdk.verify.v2.safelist.create(phone_number=OTHER)
    return {"service": service, "verification": verification, "code": code, "rate_limit": rate_limit,
            "bucket": bucket, "safe": entry}


def refused(call, *args, **kwargs) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call(*args, **kwargs)
    assert (caught.value.status, caught.value.code) == (404, 20404), caught.value.msg
    return caught.value


def refused_list(listing) -> None:
    """The SDK's lists raise a TwilioException with the response for any status but 200."""
    with pytest.raises(TwilioException) as caught:
        listing()
    response = caught.value.args[1]
    assert (response.status_code, json.loads(response.text)["code"]) == (404, 20404)


def same_as_missing(exc: TwilioRestException, real_sid: str, missing: TwilioRestException, missing_sid: str):
    """The answer to another account's sid reads as the answer to a sid that does not exist."""
    assert exc.msg.replace(real_sid, "<sid>") == missing.msg.replace(missing_sid, "<sid>")


def test_each_credential_is_an_account_and_shows_its_sid(sdk, second):
    mine = sdk.verify.v2.services.create(friendly_name="Mine")
    theirs = second.verify.v2.services.create(friendly_name="Theirs")
    assert mine.account_sid == APP_ACCOUNT_SID
    assert theirs.account_sid == account_sid_of(SECOND_KEY) != APP_ACCOUNT_SID
    assert re.fullmatch(r"AC[0-9a-f]{32}", theirs.account_sid)
    assert [s.sid for s in sdk.verify.v2.services.list()] == [mine.sid]
    assert [s.sid for s in second.verify.v2.services.list()] == [theirs.sid]


def test_every_operation_on_another_accounts_service_answers_404(sdk, second, first_world, standin):
    service, verification = first_world["service"], first_world["verification"]
    rate_limit, bucket = first_world["rate_limit"], first_world["bucket"]
    theirs = second.verify.v2.services(service.sid)
    missing_sid = "VA" + "0" * 32
    missing = refused(second.verify.v2.services(missing_sid).fetch)
    same_as_missing(refused(theirs.fetch), service.sid, missing, missing_sid)

    refused(theirs.update, friendly_name="Taken", code_length=4)
    refused(theirs.delete)
    refused(theirs.verifications.create, to=MOBILE, channel="sms")
    refused(theirs.verifications(verification.sid).fetch)
    refused(theirs.verifications(verification.sid).update, status="approved")
    refused(theirs.verifications(verification.sid).update, status="canceled")
    for _ in range(6):  # more wrong codes than a lockout needs: none is counted
        refused(theirs.verification_checks.create, to=MOBILE, code="000000")
    refused(theirs.verification_checks.create, verification_sid=verification.sid, code=first_world["code"])
    refused(theirs.rate_limits.create, unique_name="other")
    refused_list(theirs.rate_limits.list)
    refused(theirs.rate_limits(rate_limit.sid).fetch)
    refused(theirs.rate_limits(rate_limit.sid).update, description="taken")
    refused(theirs.rate_limits(rate_limit.sid).delete)
    refused(theirs.rate_limits(rate_limit.sid).buckets.create, max=1, interval=1)
    refused_list(theirs.rate_limits(rate_limit.sid).buckets.list)
    refused(theirs.rate_limits(rate_limit.sid).buckets(bucket.sid).fetch)
    refused(theirs.rate_limits(rate_limit.sid).buckets(bucket.sid).update, max=100)
    refused(theirs.rate_limits(rate_limit.sid).buckets(bucket.sid).delete)
    assert second.verify.v2.services.list() == []
    assert len(standin.messages(MOBILE)) == 1  # the other account sent nothing

    # Nothing of the first account changed: its code still approves, at the first check.
    mine = sdk.verify.v2.services(service.sid)
    assert (mine.fetch().friendly_name, mine.fetch().code_length) == ("First", 6)
    assert mine.rate_limits(rate_limit.sid).fetch().description is None
    assert mine.rate_limits(rate_limit.sid).buckets(bucket.sid).fetch().max == 5
    check = mine.verification_checks.create(to=MOBILE, code=first_world["code"])
    assert check.status == "approved"


def test_block_list_of_another_accounts_service_answers_404(live, first_world, second):
    service = first_world["service"].sid
    client = second.http_client
    paths = [("GET", f"Services/{service}/BlockedNumbers"), ("POST", f"Services/{service}/BlockedNumbers"),
             ("GET", f"Services/{service}/BlockedNumbers/{MOBILE}"),
             ("DELETE", f"Services/{service}/BlockedNumbers/{MOBILE}")]
    mine = verify_client(live.url).http_client
    added = mine.request("POST", f"https://verify.twilio.com/v2/Services/{service}/BlockedNumbers",
                         data={"PhoneNumber": MOBILE}, auth=(API_KEY, "relying-app-secret-0123456789"))
    assert added.status_code == 201
    for method, path in paths:
        answer = client.request(method, f"https://verify.twilio.com/v2/{path}", data={"PhoneNumber": MOBILE},
                                auth=(SECOND_KEY, SECOND_SECRET))
        assert (answer.status_code, json.loads(answer.text)["code"]) == (404, 20404), path
    still = mine.request("GET", f"https://verify.twilio.com/v2/Services/{service}/BlockedNumbers/{MOBILE}",
                         auth=(API_KEY, "relying-app-secret-0123456789"))
    assert still.status_code == 200


def test_the_safe_list_is_each_accounts_own(sdk, second, first_world):
    refused(second.verify.v2.safelist(OTHER).fetch)
    refused(second.verify.v2.safelist(OTHER).delete)
    # The second account lists the same number in its own list; the first's entry is untouched.
    theirs = second.verify.v2.safelist.create(phone_number=OTHER)
    assert theirs.sid != first_world["safe"].sid
    second.verify.v2.safelist(OTHER).delete()
    assert sdk.verify.v2.safelist(OTHER).fetch().sid == first_world["safe"].sid


def test_nothing_stored_for_one_account_is_readable_by_the_other(live, redis_url, sdk, second, first_world):
    """Every sid found anywhere in Redis (keys and values) that is the first account's answers
    404 to the second, whichever of its own or the first's services it is asked under."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    found: set[str] = set()
    for key in client.scan_iter(count=500):
        kind = client.type(key)
        text = key + " " + {
            "hash": lambda: repr(client.hgetall(key)), "zset": lambda: repr(client.zrange(key, 0, -1)),
            "string": lambda: repr(client.get(key)), "set": lambda: repr(client.smembers(key)),
            "list": lambda: repr(client.lrange(key, 0, -1)),
        }.get(kind, lambda: "")()
        found.update(match.group(0) for match in SID.finditer(text))
    services = {sid for sid in found if sid.startswith("VA")}
    assert services == {first_world["service"].sid}
    assert {first_world["verification"].sid, first_world["rate_limit"].sid, first_world["bucket"].sid} <= found
    own = second.verify.v2.services.create(friendly_name="Own").sid
    rate_limit = first_world["rate_limit"].sid
    for sid in sorted(found):
        for service in (*services, own):
            under = second.verify.v2.services(service)
            prefix = sid[:2]
            if prefix == "VA":
                refused(second.verify.v2.services(sid).fetch)
            elif prefix == "VE":
                refused(under.verifications(sid).fetch)
            elif prefix == "RK":
                refused(under.rate_limits(sid).fetch)
            elif prefix == "BL":
                refused(under.rate_limits(rate_limit).buckets(sid).fetch)
    for number in client.hkeys(f"tv:account:{APP_ACCOUNT_SID}:safelist"):
        refused(second.verify.v2.safelist(number).fetch)


def test_an_api_key_of_the_account_works_in_the_python_sdk_as_with_twilio(live, sdk):
    """`Client(key_sid, key_secret, account_sid)`, as Twilio's API keys are used, reaches the
    same account as the account's other credential."""
    created = sdk.verify.v2.services.create(friendly_name="Shared")
    key_client = Client(username=KEY_SID, password=KEY_SECRET, account_sid=APP_ACCOUNT_SID,
                        http_client=RedirectingHttpClient(live.url, timeout=10))
    fetched = key_client.verify.v2.services(created.sid).fetch()
    assert (fetched.sid, fetched.account_sid) == (created.sid, APP_ACCOUNT_SID)
    assert [s.sid for s in key_client.verify.v2.services.list()] == [created.sid]


def test_an_upgrade_gives_what_was_stored_before_accounts_to_the_first_account(redis_url, standin, sdk, second):
    """Services and a SafeList stored without an account, as telverify stored them before it
    had accounts, belong after a restart to the account of API_CREDENTIALS' first entry."""
    before = sdk.verify.v2.services.create(friendly_name="Before")
    verification = sdk.verify.v2.services(before.sid).verifications.create(to=MOBILE, channel="sms")
    code = code_in(standin.wait_for_message(MOBILE))
    sdk.verify.v2.safelist.create(phone_number=OTHER)
    kept = second.verify.v2.services.create(friendly_name="Has an owner")  # listed unowned too: kept
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    created = client.zscore(keys.account_services(APP_ACCOUNT_SID), before.sid)
    client.hdel(keys.service(before.sid), "account_sid")
    client.delete(keys.account_services(APP_ACCOUNT_SID))
    client.zadd(keys.UNOWNED_SERVICES, {before.sid: created, kept.sid: created, "VA" + "f" * 32: created})
    client.rename(keys.safe_list(APP_ACCOUNT_SID), keys.UNOWNED_SAFE_LIST)

    with LiveServer(lambda url: make_env(redis_url, standin.base_url, url)) as upgraded:
        first, other = verify_client(upgraded.url), verify_client(upgraded.url, SECOND_KEY, SECOND_SECRET)
        assert [s.sid for s in first.verify.v2.services.list()] == [before.sid]
        assert first.verify.v2.services(before.sid).fetch().account_sid == APP_ACCOUNT_SID
        assert [s.sid for s in other.verify.v2.services.list()] == [kept.sid]
        refused(other.verify.v2.services(before.sid).fetch)
        # What was pending goes on: the code sent before the upgrade approves after it.
        check = first.verify.v2.services(before.sid).verification_checks.create(
            verification_sid=verification.sid, code=code)
        assert check.status == "approved"
        assert first.verify.v2.safelist(OTHER).fetch().phone_number == OTHER
        refused(other.verify.v2.safelist(OTHER).fetch)

    assert not client.exists(keys.UNOWNED_SERVICES, keys.UNOWNED_SAFE_LIST)
    assert client.hget(keys.service(kept.sid), "account_sid") == account_sid_of(SECOND_KEY)
    assert not client.exists(keys.service("VA" + "f" * 32))  # a stray entry is dropped, not made a service
    assert adopt_unowned(client, APP_ACCOUNT_SID) == (0, 0)  # once adopted, nothing is left to adopt


def test_adoption_waits_for_a_redis_unreachable_at_start(tmp_path, standin, caplog):
    """Redis silent while telverify starts: it starts, and the first API request adopts."""
    process, url = start_redis(str(tmp_path))
    try:
        client = redis.Redis.from_url(url, decode_responses=True)
        sid = "VA" + "e" * 32
        client.hset(keys.service(sid), mapping={"sid": sid, "friendly_name": "Before", "date_created": "1",
                                                "date_updated": "1"})
        client.zadd(keys.UNOWNED_SERVICES, {sid: 1})
        process.send_signal(signal.SIGSTOP)
        try:
            with caplog.at_level(logging.WARNING, "telverify"):
                app = create_app(make_env(url, standin.base_url, "http://localhost"))
        finally:
            process.send_signal(signal.SIGCONT)
        assert "adopted on the first API request" in caplog.text
        assert client.zcard(keys.UNOWNED_SERVICES) == 1
        listed = app.test_client().get("/v2/Services", auth=(API_KEY, API_SECRET)).get_json()["services"]
        assert [(s["sid"], s["account_sid"]) for s in listed] == [(sid, APP_ACCOUNT_SID)]
        assert not client.exists(keys.UNOWNED_SERVICES)
    finally:
        process.terminate()
        process.wait(10)
