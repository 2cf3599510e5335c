"""A service's own limits: a number's own limits count over a day at most, the prefix's and the
service's over windows of any length."""
from __future__ import annotations

import pytest
from freezegun import freeze_time

from app import create_app
from tests.support import MOBILE, make_env
from tests.test_abuse_protection import FAR_MOBILE, OTHER_MOBILE, create_service, refused, start

GERMANY = "+4915123456789"
PREFIX_MOBILE = "+447400123458"  # the prefix of MOBILE and OTHER_MOBILE (+44740)


@pytest.fixture
def deployment(redis_url, standin):
    """A test client of an app configured with these settings, on the suite's Redis."""
    def client(**settings):
        return create_app(make_env(redis_url, standin.base_url, "http://localhost", **settings)).test_client()
    return client


def update(client, auth, service, **params):
    return client.post(f"/v2/Services/{service}", data=params, auth=auth)


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
