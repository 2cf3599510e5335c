"""The deployment's limits and geo permissions are a ceiling: through /v2/Services a service may
only narrow them (400, 60200 otherwise, on create and on update); a service stored looser, by an
older version or before the operator tightened the deployment, is held to the deployment when it
sends; and a number's own limits count over a day at most."""
from __future__ import annotations

import pytest
import redis
from freezegun import freeze_time

from app import create_app
from tests.support import LANDLINE, MOBILE, make_env
from tests.test_abuse_protection import FAR_MOBILE, OTHER_MOBILE, cancel, create_service, refused, start
from verify.api.services import PROTECTION
from verify.store import keys

FIELDS = {param: field for param, (field, _) in PROTECTION.items()}  # LimitSendsPerNumber: limit_sends_per_number
DEFAULT_NUMBER = "LIMIT_SENDS_PER_NUMBER is '10 per 10 minutes; 30 per day'"
NIGERIA, GERMANY, FRANCE = "+2348021234567", "+4915123456789", "+33612345678"
PREFIX_MOBILE = "+447400123458"  # the prefix of MOBILE and OTHER_MOBILE (+44740)


@pytest.fixture
def deployment(redis_url, standin):
    """A test client of an app configured with these settings, on the suite's Redis."""
    def client(**settings):
        return create_app(make_env(redis_url, standin.base_url, "http://localhost", **settings)).test_client()
    return client


def store_override(redis_url, service, field, value):
    """Write a service's override straight into its hash, as a version without the ceiling did."""
    redis.Redis.from_url(redis_url).hset(keys.service(service), field, value)


def update(client, auth, service, **params):
    return client.post(f"/v2/Services/{service}", data=params, auth=auth)


# --- limits: the API -----------------------------------------------------------------------------

ABOVE = [  # a service's limit, above the built-in defaults: what the message must name
    ("LimitSendsPerNumber", "3 per 10 minutes", ["432 through per day", DEFAULT_NUMBER]),
    ("LimitSendsPerNumber", "20 per day", ["20 through per 10 minutes", "deployment's 10 per 10 minutes"]),
    ("LimitSendsPerNumber", "unlimited", ["sets no limit", DEFAULT_NUMBER]),
    ("LimitSendsPerNumber", "11 per 10 minutes; 30 per day", ["11 through per 10 minutes"]),
    ("LimitSendsPerNumber", "4 per 4 minutes; 30 per day", ["12 through per 10 minutes"]),  # 3 windows in 10
    ("LimitCallsPerNumber", "5 per 10 minutes; 16 per day",
     ["16 through per day", "LIMIT_CALLS_PER_NUMBER is '5 per 10 minutes; 15 per day'"]),
    ("LimitVerificationsPerNumber", "1 per hour",
     ["24 through per day", "LIMIT_VERIFICATIONS_PER_NUMBER is '5 per 10 minutes; 20 per day'"]),
    ("LimitSendsPerPrefix", "101 per hour", ["101 through per hour", "LIMIT_SENDS_PER_PREFIX is '100 per hour'"]),
    ("LimitSendsPerPrefix", "500 per day", ["500 through per hour"]),
    ("LimitSendsPerPrefix", "60 per 30 minutes", ["120 through per hour"]),
    ("LimitSendsPerService", "20000 per 2 days",
     ["20000 through per day", "LIMIT_SENDS_PER_SERVICE is '10000 per day'"]),
    ("LimitSendsPerService", "unlimited", ["sets no limit"]),
]


@pytest.mark.parametrize("param,value,words", ABOVE, ids=[f"{p}={v}" for p, v, _ in ABOVE])
def test_a_limit_above_the_deployments_is_refused_on_create(client, auth, param, value, words):
    answer = client.post("/v2/Services", data={"FriendlyName": "Acme", param: value}, auth=auth)
    refused(answer, 400, 60200, f"`{param}`", f"'{value}'", *words, "as strict as the deployment's")
    assert client.get("/v2/Services", auth=auth).get_json()["services"] == []


@pytest.mark.parametrize("param,value,words", ABOVE, ids=[f"{p}={v}" for p, v, _ in ABOVE])
def test_a_limit_above_the_deployments_is_refused_on_update(client, auth, param, value, words):
    service = create_service(client, auth, **{param: "1 per day"})
    refused(update(client, auth, service, **{param: value}), 400, 60200, f"`{param}`", *words)
    assert client.get(f"/v2/Services/{service}", auth=auth).get_json()[FIELDS[param]] == "1 per day"


WITHIN = [
    ("LimitSendsPerNumber", "10 per 10 minutes; 30 per day"),  # the deployment's own
    ("LimitSendsPerNumber", "3 per 10 minutes; 30 per day"),
    ("LimitSendsPerNumber", "10 per day"),  # 10 in any 10 minutes at most, as the deployment's
    ("LimitSendsPerNumber", "1 per hour"),  # at most 24 a day
    ("LimitSendsPerNumber", "2 per 5 minutes; 20 per day"),
    ("LimitCallsPerNumber", "1 per 10 minutes; 15 per day"),
    ("LimitVerificationsPerNumber", "5 per day"),
    ("LimitSendsPerPrefix", "50 per 30 minutes"),
    ("LimitSendsPerPrefix", "10 per minute; 100 per hour"),
    ("LimitSendsPerPrefix", "20 per hour; 100 per 7 days"),  # a week: the `limits` library's window
    ("LimitSendsPerService", "5000 per day; 100000 per 30 days"),
]


@pytest.mark.parametrize("param,value", WITHIN, ids=[f"{p}={v}" for p, v in WITHIN])
def test_a_limit_within_the_deployments_is_accepted(client, auth, param, value):
    service = create_service(client, auth, **{param: value})
    assert update(client, auth, service, **{param: value}).status_code == 200
    assert client.get(f"/v2/Services/{service}", auth=auth).get_json()[FIELDS[param]] == value


def test_a_service_may_be_unlimited_only_where_the_deployment_is(deployment, auth):
    client = deployment(LIMIT_SENDS_PER_NUMBER="unlimited", LIMIT_VERIFICATIONS_PER_NUMBER="unlimited")
    service = create_service(client, auth, LimitSendsPerNumber="unlimited", LimitVerificationsPerNumber="unlimited")
    for _ in range(12):
        cancel(client, auth, service, start(client, auth, service))
    assert start(client, auth, service).status_code == 201
    refused(update(client, auth, service, LimitCallsPerNumber="unlimited"), 400, 60200, "LimitCallsPerNumber")


def test_the_ceiling_is_the_deployments_own_setting(deployment, auth):
    client = deployment(LIMIT_SENDS_PER_PREFIX="1000 per hour")
    assert create_service(client, auth, LimitSendsPerPrefix="500 per day")
    refused(client.post("/v2/Services", data={"FriendlyName": "Acme", "LimitSendsPerPrefix": "1001 per hour"},
                        auth=auth), 400, 60200, "LIMIT_SENDS_PER_PREFIX is '1000 per hour'")


# --- a number's own limits count over a day at most -------------------------------------------------

@pytest.mark.parametrize("param", ["LimitSendsPerNumber", "LimitCallsPerNumber", "LimitVerificationsPerNumber"])
@pytest.mark.parametrize("value,window", [("2 per 7 days", "7 days"), ("1 per 25 hours", "25 hours"),
                                          ("1 per minute; 5 per 2 days", "2 days")])
def test_a_numbers_own_limit_counts_over_a_day_at_most(deployment, auth, param, value, window):
    # With nothing above them to keep within, only the window can refuse.
    client = deployment(LIMIT_SENDS_PER_NUMBER="unlimited", LIMIT_CALLS_PER_NUMBER="unlimited",
                        LIMIT_VERIFICATIONS_PER_NUMBER="unlimited")
    answer = client.post("/v2/Services", data={"FriendlyName": "Acme", param: value}, auth=auth)
    refused(answer, 400, 60200, f"`{param}`", f"counts over {window}", "longest window", "is a day")
    service = create_service(client, auth, **{param: "1 per 24 hours"})
    refused(update(client, auth, service, **{param: value}), 400, 60200, f"`{param}`", "is a day")


def test_prefix_and_service_limits_count_over_longer_windows(deployment, auth):
    client = deployment(LIMIT_SENDS_PER_PREFIX="unlimited", LIMIT_SENDS_PER_SERVICE="unlimited")
    service = create_service(client, auth, LimitSendsPerPrefix="2 per 7 days", LimitSendsPerService="3 per 7 days")
    with freeze_time("2026-11-24 10:00:00") as clock:
        assert start(client, auth, service, MOBILE).status_code == 201
        clock.tick(3 * 86400)
        assert start(client, auth, service, OTHER_MOBILE).status_code == 201
        clock.tick(86400)
        answer = start(client, auth, service, PREFIX_MOBILE)  # the prefix's third in a week
        refused(answer, 429, 60410, "2 codes sent to numbers starting +44740 per 7 days")
        assert answer.headers["Retry-After"] == str(3 * 86400)
        assert start(client, auth, service, FAR_MOBILE).status_code == 201
        clock.tick(86400)
        answer = start(client, auth, service, GERMANY)  # the service's fourth in a week
        refused(answer, 429, 20429, "3 codes sent by this service per 7 days")
        assert answer.headers["Retry-After"] == str(2 * 86400)
        clock.tick(2 * 86400 + 1)  # the first send has left both weeks
        assert start(client, auth, service, PREFIX_MOBILE).status_code == 201


# --- geo permissions: the API ------------------------------------------------------------------------

@pytest.mark.parametrize("value,reaches", [("NG", "NG"), ("GB, NG", "NG"), ("*", "every country"),
                                           ("+44", "GG, IM, JE"), ("+1", "AG, AI, AS, BB"), ("JE", "JE"),
                                           ("+800", "numbers of no country")])
def test_countries_beyond_the_deployments_are_refused(client, auth, value, reaches):
    answer = client.post("/v2/Services", data={"FriendlyName": "Acme", "AllowedCountries": value}, auth=auth)
    refused(answer, 400, 60200, "`AllowedCountries`", f"reaches {reaches}", "ALLOWED_COUNTRIES is 'AR,AT,AU",
            "only narrow")
    service = create_service(client, auth, AllowedCountries="GB")
    refused(update(client, auth, service, AllowedCountries=value), 400, 60200, "`AllowedCountries`")
    assert client.get(f"/v2/Services/{service}", auth=auth).get_json()["allowed_countries"] == "GB"


@pytest.mark.parametrize("allowed,within,beyond", [
    (None, ["GB", "GB, +33", "US, CA", "+33"], []),
    ("+44", ["GB, JE", "+44", "IM"], ["FR", "+33"]),
    ("GB, GG, IM, JE, FR", ["+44", "+44, +33"], ["+1"]),
    ("*", ["*", "NG", "+800"], []),
])
def test_countries_within_the_deployments_are_accepted(deployment, auth, allowed, within, beyond):
    client = deployment(ALLOWED_COUNTRIES=allowed)
    for value in within:
        service = create_service(client, auth, AllowedCountries=value)
        assert client.get(f"/v2/Services/{service}", auth=auth).get_json()["allowed_countries"] == value
    for value in beyond:
        refused(client.post("/v2/Services", data={"FriendlyName": "Acme", "AllowedCountries": value}, auth=auth),
                400, 60200, "AllowedCountries")


# --- a service stored looser is held to the deployment when it sends -----------------------------------

@pytest.mark.parametrize("stored", ["100 per hour", "unlimited", "5 per minute"])
def test_a_stored_number_limit_above_the_deployments_is_held_to_it(deployment, auth, redis_url, standin, stored):
    client = deployment(LIMIT_SENDS_PER_NUMBER="2 per hour")
    service = create_service(client, auth)
    store_override(redis_url, service, "limit_sends_per_number", stored)
    assert client.get(f"/v2/Services/{service}", auth=auth).get_json()["limit_sends_per_number"] == stored
    for _ in range(2):
        assert start(client, auth, service).status_code == 201
    refused(start(client, auth, service), 429, 60203, "2 codes sent to this number per hour")
    assert len(standin.requests(MOBILE)) == 2


def test_a_stored_call_and_verification_limit_are_held_to_the_deployments(deployment, auth, redis_url, standin):
    standin.set_callee(LANDLINE, answer="no-answer")
    client = deployment(LIMIT_CALLS_PER_NUMBER="1 per hour", LIMIT_VERIFICATIONS_PER_NUMBER="2 per hour")
    service = create_service(client, auth)
    store_override(redis_url, service, "limit_calls_per_number", "unlimited")
    store_override(redis_url, service, "limit_verifications_per_number", "50 per hour")
    assert start(client, auth, service, LANDLINE, "call").status_code == 201
    refused(start(client, auth, service, LANDLINE, "call"), 429, 60203, "1 calls to this number per hour")
    for _ in range(2):
        cancel(client, auth, service, start(client, auth, service))
    refused(start(client, auth, service), 429, 60203, "2 verifications started for this number per hour")


def test_a_stored_limit_and_the_deployments_both_apply(deployment, auth, redis_url):
    """A stored limit looser over one window and stricter over another: each refuses in turn."""
    client = deployment(LIMIT_SENDS_PER_NUMBER="2 per hour")
    service = create_service(client, auth)
    store_override(redis_url, service, "limit_sends_per_number", "1 per minute; 100 per hour")
    with freeze_time("2026-11-24 10:00:00") as clock:
        assert start(client, auth, service).status_code == 201
        refused(start(client, auth, service), 429, 60203, "1 codes sent to this number per minute")
        clock.tick(61)
        assert start(client, auth, service).status_code == 201
        clock.tick(61)
        refused(start(client, auth, service), 429, 60203, "2 codes sent to this number per hour")


def test_stored_prefix_and_service_limits_are_held_to_the_deployments(deployment, auth, redis_url, standin):
    client = deployment(LIMIT_SENDS_PER_PREFIX="2 per hour", LIMIT_SENDS_PER_SERVICE="3 per day")
    service = create_service(client, auth)
    store_override(redis_url, service, "limit_sends_per_prefix", "1000 per hour")
    store_override(redis_url, service, "limit_sends_per_service", "unlimited")
    assert start(client, auth, service, MOBILE).status_code == 201
    assert start(client, auth, service, OTHER_MOBILE).status_code == 201
    refused(start(client, auth, service, PREFIX_MOBILE), 429, 60410, "2 codes sent to numbers starting +44740")
    assert standin.requests(PREFIX_MOBILE) == []
    assert start(client, auth, service, FAR_MOBILE).status_code == 201
    refused(start(client, auth, service, GERMANY), 429, 20429, "3 codes sent by this service per day")


@pytest.mark.parametrize("stored", ["NG, GB", "*", "+234, +44"])
def test_stored_countries_beyond_the_deployments_are_not_reached(client, auth, redis_url, standin, stored):
    service = create_service(client, auth)
    store_override(redis_url, service, "allowed_countries", stored)
    refused(start(client, auth, service, NIGERIA), 403, 60605, "NG", "ALLOWED_COUNTRIES")
    assert standin.requests(NIGERIA) == []
    assert start(client, auth, service, MOBILE).status_code == 201
    if stored != "*":  # the service's own still narrow the deployment's
        refused(start(client, auth, service, GERMANY), 403, 60605, "DE", "AllowedCountries")


def test_a_tightened_deployment_holds_the_services_set_before(deployment, auth, standin):
    before = deployment(LIMIT_SENDS_PER_NUMBER="5 per hour", ALLOWED_COUNTRIES="GB, DE, FR")
    service = create_service(before, auth, LimitSendsPerNumber="4 per hour", AllowedCountries="GB, DE")
    after = deployment(LIMIT_SENDS_PER_NUMBER="2 per hour", ALLOWED_COUNTRIES="GB, FR")  # the same Redis
    for _ in range(2):
        assert start(after, auth, service).status_code == 201
    refused(start(after, auth, service), 429, 60203, "2 codes sent to this number per hour")
    refused(start(after, auth, service, GERMANY), 403, 60605, "DE", "ALLOWED_COUNTRIES")
    refused(start(after, auth, service, FRANCE), 403, 60605, "FR", "AllowedCountries")
    assert standin.requests(GERMANY) == standin.requests(FRANCE) == []
