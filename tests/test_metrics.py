"""/metrics: what an operator scrapes, counted as things happen, behind the scraper's or an
admin's credentials, and added up across gunicorn's workers."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests
from freezegun import freeze_time
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from config import ConfigError, load_settings
from tests.support import (
    ADMIN_KEY,
    ADMIN_SECRET,
    API_KEY,
    API_SECRET,
    LANDLINE,
    MOBILE,
    Gunicorn,
    code_in,
    make_env,
)

SCRAPER = ("prometheus", "prometheus-secret-0123456789")


def samples(text: str) -> dict[tuple, float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(url: str, credentials=(ADMIN_KEY, ADMIN_SECRET)) -> dict:
    answer = requests.get(f"{url}/metrics", auth=credentials, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    return samples(answer.text)


def waited(url: str, name: str, at_least: float, **labels) -> dict:
    """A scrape once the count reached `at_least` (a status callback arrives after the answer)."""
    deadline = time.monotonic() + 10
    while True:
        found = scrape(url)
        if value(found, name, **labels) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_metrics_need_the_scrapers_or_an_admins_credentials(redis_url, standin):
    client = create_app(make_env(redis_url, standin.base_url, "http://localhost",
                                 METRICS_CREDENTIALS=":".join(SCRAPER))).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", auth=(API_KEY, API_SECRET)).status_code == 401  # an application's: no
    assert client.get("/metrics", auth=(SCRAPER[0], "wrong")).status_code == 401
    for credentials in (SCRAPER, (ADMIN_KEY, ADMIN_SECRET)):
        answer = client.get("/metrics", auth=credentials)
        assert answer.status_code == 200
        assert "telverify_verifications_started_total" in answer.get_data(as_text=True)
    # The scraper's credentials open nothing else.
    assert client.get("/admin/Accounts", auth=SCRAPER).status_code == 401
    assert client.get("/v2/Services", auth=SCRAPER).status_code == 401


def test_a_scrapers_id_must_be_its_own(redis_url, standin):
    with pytest.raises(ConfigError, match="METRICS_CREDENTIALS: 'helpdesk' is also"):
        load_settings(make_env(redis_url, standin.base_url, "http://localhost",
                               METRICS_CREDENTIALS=f"{ADMIN_KEY}:another-secret-0123456789"))


def test_verifications_are_counted_from_start_to_end(live, sdk, service, standin):
    before = scrape(live.url)
    verifications = sdk.verify.v2.services(service.sid).verifications
    checks = sdk.verify.v2.services(service.sid).verification_checks
    verifications.create(to=MOBILE, channel="sms")
    code = code_in(standin.wait_for_message(MOBILE))
    verifications.create(to=MOBILE, channel="sms")  # a re-send: a send, not a new verification
    assert checks.create(to=MOBILE, code=code).status == "approved"
    other = "+447400123457"
    verifications.create(to=other, channel="sms")
    for _ in range(5):
        checks.create(to=other, code="000000")
    third = verifications.create(to="+447400123458", channel="sms")
    verifications(third.sid).update(status="canceled")

    after = waited(live.url, "telverify_message_deliveries_total", 1 + value(
        before, "telverify_message_deliveries_total", status="delivered"), status="delivered")
    grew = {key: after[key] - before.get(key, 0.0) for key in after}
    sid = service.sid
    assert grew[("telverify_verifications_started_total", (("channel", "sms"), ("service", sid)))] == 3
    assert grew[("telverify_sends_total", (("channel", "sms"), ("outcome", "sent")))] == 4
    for status in ("approved", "max_attempts_reached", "canceled"):
        assert grew[("telverify_verifications_ended_total",
                     (("channel", "sms"), ("service", sid), ("status", status)))] == 1, status
    assert grew[("telverify_message_deliveries_total", (("status", "delivered"),))] >= 1
    # The API's latency, by the route's pattern (never its path, which holds sids and numbers).
    route = "/v2/Services/<service_sid>/VerificationCheck"
    assert grew[("telverify_request_duration_seconds_count",
                 (("method", "POST"), ("route", route), ("status", "200")))] == 6
    assert not any(MOBILE in str(key) or sid in str(key[1]) and "route" in dict(key[1]) for key in after)


def test_refusals_are_counted_by_reason(live, sdk, service, standin):
    before = scrape(live.url)
    verifications = sdk.verify.v2.services(service.sid).verifications
    for number in ("+2348021234567", "+449012345678"):  # outside the geo permissions; premium-rate
        with pytest.raises(Exception):
            verifications.create(to=number, channel="sms")
    after = scrape(live.url)
    for reason in ("geo", "premium"):
        key = ("telverify_refusals_total", (("reason", reason), ("service", service.sid)))
        assert after[key] - before.get(key, 0.0) == 1, reason
    assert standin.requests() == []


def test_a_calls_end_is_counted_by_outcome(live, sdk, service, standin):
    standin.set_callee(LANDLINE, answer="no-answer")
    before = value(scrape(live.url), "telverify_call_outcomes_total", outcome="no-answer")
    sdk.verify.v2.services(service.sid).verifications.create(to=LANDLINE, channel="call")
    standin.wait_for_call_end(standin.wait_for_call(LANDLINE)["sid"])
    after = waited(live.url, "telverify_call_outcomes_total", before + 1, outcome="no-answer")
    assert value(after, "telverify_call_outcomes_total", outcome="no-answer") == before + 1


def test_every_workers_counts_are_added_up(tmp_path, redis_url, standin):
    """Two workers under gunicorn, eight kept-alive connections at a time (the workers share
    them out, once both have loaded the app): every scrape, whichever worker answers it, counts
    every request."""
    folder = tmp_path / "metrics"

    def writers() -> set[str]:
        return {re.search(r"_(\d+)\.db$", path.name).group(1) for path in folder.glob("histogram_*.db")}

    env = lambda url: make_env(redis_url, standin.base_url, url)  # noqa: E731
    with Gunicorn(tmp_path, env, WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(folder)) as server:
        sent, deadline = 0, time.monotonic() + 60
        while len(writers()) < 2 and time.monotonic() < deadline:
            sessions = [requests.Session() for _ in range(8)]
            for session in sessions:
                assert session.get(f"{server.url}/healthz/live", timeout=10).status_code == 200
                sent += 1
            counts = []
            for session in sessions:
                found = samples(session.get(f"{server.url}/metrics", auth=(ADMIN_KEY, ADMIN_SECRET),
                                            timeout=10).text)
                counts.append(value(found, "telverify_request_duration_seconds_count", route="/healthz/live",
                                    method="GET", status="200"))
                session.close()
            assert counts == [sent] * 8
    assert len(writers()) == 2  # both workers answered some, and their counts were in every scrape


def test_the_dashboard_and_the_docs_name_only_metrics_telverify_exports(redis_url, standin):
    """docs/grafana-dashboard.json's queries and docs/metrics.md's table read what a scrape holds."""
    client = create_app(make_env(redis_url, standin.base_url, "http://localhost")).test_client()
    families = [family for family in text_string_to_metric_families(
        client.get("/metrics", auth=(ADMIN_KEY, ADMIN_SECRET)).get_data(as_text=True))
        if family.name.startswith("telverify_")]
    defined = {family.name + ("_total" if family.type == "counter" else "") for family in families}
    readable = defined | {f"{family.name}_{suffix}" for family in families if family.type == "histogram"
                          for suffix in ("count", "sum", "bucket")}
    docs = Path(__file__).resolve().parents[1] / "docs"
    dashboard = json.loads((docs / "grafana-dashboard.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"telverify_[a-z_]+", target["expr"])}
    documented = set(re.findall(r"`(telverify_[a-z_]+)`", (docs / "metrics.md").read_text()))
    assert len(defined) == 8
    assert queried <= readable, queried - readable
    assert documented == defined, documented ^ defined


def test_a_made_up_method_is_timed_as_other(redis_url, standin):
    client = create_app(make_env(redis_url, standin.base_url, "http://localhost")).test_client()
    for method in ("BREW", "WHEN", "GET"):
        client.open("/healthz/live", method=method)
    found = samples(client.get("/metrics", auth=(ADMIN_KEY, ADMIN_SECRET)).get_data(as_text=True))
    methods = {dict(labels)["method"] for name, labels in found if name == "telverify_request_duration_seconds_count"}
    assert "other" in methods and not methods & {"BREW", "WHEN"}


def test_a_code_left_to_expire_is_counted_once_as_expired(client, auth, standin):
    """An expiry is no event: the process that started a verification reads it once its code's
    time has passed (at a scrape, or a start), and counts it if it is still pending then."""
    def expired() -> float:
        answer = client.get("/metrics", auth=(ADMIN_KEY, ADMIN_SECRET))
        assert answer.status_code == 200
        return value(samples(answer.get_data(as_text=True)), "telverify_verifications_ended_total",
                     service=service, channel="sms", status="expired")

    with freeze_time("2026-12-07 10:00:00") as clock:
        service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()["sid"]
        url = f"/v2/Services/{service}"
        started = [client.post(f"{url}/Verifications", data={"To": number, "Channel": "sms"}, auth=auth)
                   for number in (MOBILE, "+447400123457", "+447400123458")]
        assert [answer.status_code for answer in started] == [201] * 3
        code = code_in(standin.wait_for_message(MOBILE))
        assert client.post(f"{url}/VerificationCheck", data={"To": MOBILE, "Code": code},
                           auth=auth).get_json()["status"] == "approved"
        assert client.post(f"{url}/Verifications/{started[2].get_json()['sid']}", data={"Status": "canceled"},
                           auth=auth).get_json()["status"] == "canceled"
        clock.tick(599)  # codes live 600 s
        assert expired() == 0
        clock.tick(2)
        assert expired() == 1  # the one left pending; not the approved, not the canceled
        assert expired() == 1  # once
        # A start reads what is due too, so that what a process remembers stays bounded.
        for number in ("+447400123459", "+447400123460"):
            assert client.post(f"{url}/Verifications", data={"To": number, "Channel": "sms"},
                               auth=auth).status_code == 201
            clock.tick(601)
        assert REGISTRY.get_sample_value("telverify_verifications_ended_total",
                                         {"service": service, "channel": "sms", "status": "expired"}) == 2
