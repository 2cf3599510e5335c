"""What an operator scrapes at /metrics (Prometheus' text format, with prometheus_client).

Under gunicorn each worker process counts in files of its own (prometheus_client's
multiprocess mode, PROMETHEUS_MULTIPROC_DIR, prepared by config/gunicorn.conf.py) and a scrape,
answered by any worker, adds them all up. Without that directory (tests, a one-process server)
the counts are the process's own.

Labels stay few and bounded: a service's sid, a channel, a reason or outcome from fixed lists,
a route's pattern (never its path: a path holds sids and identities). Never a number, a code or
anything a caller wrote.
"""
from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# A `_created` series per counter doubles what a scrape carries, and the workers' sums
# (multiprocess mode) have none: one process answers as several do.
disable_created_metrics()

# Why abuse protection refused a request (VerifyError.reason): the names an operator alerts on.
REFUSAL_REASONS = ("limit", "fraud_guard", "geo", "premium", "block", "lockout", "rate_limit", "auth_failures")

STARTED = Counter("telverify_verifications_started_total",
                  "Verifications created (a re-send of a pending one is counted in sends).", ["service", "channel"])
SENDS = Counter("telverify_sends_total",
                "Texts and calls telverify asked Twilio for, by the answer it got: sent, refused (Twilio "
                "refused it), unavailable (Twilio unreachable, slow or erroring).", ["channel", "outcome"])
ENDED = Counter("telverify_verifications_ended_total",
                "Verifications that reached an end: approved, canceled, max_attempts_reached, fraud_reported "
                "(the person pressed 0 on a call), expired (its code's time passed while it was pending).",
                ["service", "channel", "status"])
REFUSALS = Counter("telverify_refusals_total",
                   "Requests refused by abuse protection, by reason: " + ", ".join(REFUSAL_REASONS) + ".",
                   ["service", "reason"])
DELIVERIES = Counter("telverify_message_deliveries_total",
                     "Twilio's delivery reports on texts: queued, sent, delivered, undelivered, failed.", ["status"])
CALLS = Counter("telverify_call_outcomes_total",
                "How verification calls ended, from Twilio's status callbacks: completed, busy, no-answer, "
                "failed, canceled, and machine (answered by voicemail or a machine).", ["outcome"])
REDIS_ERRORS = Counter("telverify_redis_errors_total",
                       "Requests answered 503 because Redis failed them, by the error's kind.", ["kind"])
LATENCY = Histogram("telverify_request_duration_seconds",
                    "Time to answer a request, by route pattern (/v2/..., /voice/..., /sms/...), method and "
                    "status.", ["route", "method", "status"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0))

DELIVERY_STATUSES = ("accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read")
CALL_OUTCOMES = ("completed", "busy", "no-answer", "failed", "canceled", "machine")


def started(service_sid: str, channel: str) -> None:
    STARTED.labels(service_sid, channel).inc()


def sent(channel: str, outcome: str) -> None:
    SENDS.labels(channel, outcome).inc()


def ended(service_sid: str, channel: str, status: str) -> None:
    ENDED.labels(service_sid, channel, status).inc()


def refused(service_sid: str | None, reason: str) -> None:
    REFUSALS.labels(service_sid or "", reason).inc()


def delivery(status: str) -> None:
    if status in DELIVERY_STATUSES:
        DELIVERIES.labels(status).inc()


def call_outcome(outcome: str) -> None:
    if outcome in CALL_OUTCOMES:
        CALLS.labels(outcome).inc()


def redis_error(kind: str) -> None:
    REDIS_ERRORS.labels(kind).inc()


# The histogram's series by (route, method, status): labels() takes a lock and builds its key
# on every call, a few microseconds that each request would pay (the trivial endpoint takes
# about 170 µs in all).
_latency_series: dict[tuple[str, str, int], object] = {}


# A client may send any method name: the label takes HTTP's own, and "other" for the rest, so
# that made-up names cannot grow the series (and this dictionary) without bound.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def answered(route: str, method: str, status: int, seconds: float) -> None:
    if method not in METHODS:
        method = "other"
    series = _latency_series.get((route, method, status))
    if series is None:
        series = _latency_series.setdefault((route, method, status), LATENCY.labels(route, method, str(status)))
    series.observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text a scrape answers, and its content type: every worker's counts when gunicorn
    runs several (multiprocess mode), else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
