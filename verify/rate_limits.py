"""Verify's programmable rate limits: a service's RateLimits and their Buckets.

A rate limit names what the application meters (`UniqueName`, e.g. end_user_ip_address); its
buckets say how much (`Max` requests in any `Interval` seconds). A verification names the rate
limits that apply to it with its `RateLimits` parameter (protection/admission.py counts them).
"""
from __future__ import annotations

import time

from . import errors, sids
from .errors import VerifyError
from .services import Services
from .store import admin as limits_store
from .store.admin import AdminStore, Bucket, RateLimit


def bucket_path(service_sid: str, rate_limit_sid: str, sid: str = "") -> str:
    return f"{service_sid}/RateLimits/{rate_limit_sid}/Buckets" + (f"/{sid}" if sid else "")


def _missing(path: str) -> VerifyError:
    return errors.not_found(f"The requested resource /Services/{path} was not found")


def _rate_limit_missing(service_sid: str, sid: str) -> VerifyError:
    return _missing(f"{service_sid}/RateLimits/{sid}")


def _bucket_refusal(outcome: str, service_sid: str, rate_limit_sid: str, sid: str | None = None) -> VerifyError:
    if outcome == "full":
        return VerifyError(errors.TOO_MANY_BUCKETS, f"Max Buckets per Rate limit reached: a rate limit has at "
                           f"most {limits_store.MAX_BUCKETS} buckets.")
    if outcome == "duplicate_interval":
        return VerifyError(errors.DUPLICATE_INTERVAL, "Bucket with the given Interval already exists in this "
                           "rate limit; update or delete that bucket instead.")
    if sid is None:  # the rate limit went away
        return _rate_limit_missing(service_sid, rate_limit_sid)
    return _missing(bucket_path(service_sid, rate_limit_sid, sid))


class RateLimits:
    def __init__(self, admin: AdminStore, services: Services):
        self.admin = admin
        self.services = services

    def _check_sids(self, service_sid: str, rate_limit_sid: str, bucket_sid: str | None = None) -> None:
        """404 for an unknown service, or for sids that cannot be a rate limit's or a bucket's
        (checked before they go into a Redis key)."""
        self.services.get(service_sid)
        if not sids.is_sid(rate_limit_sid, sids.RATE_LIMIT):
            raise _rate_limit_missing(service_sid, rate_limit_sid)
        if bucket_sid is not None and not sids.is_sid(bucket_sid, sids.BUCKET):
            raise _missing(bucket_path(service_sid, rate_limit_sid, bucket_sid))

    # -- rate limits --------------------------------------------------------------------------
    def create(self, service_sid: str, unique_name: str, description: str | None) -> RateLimit:
        self.services.get(service_sid)
        outcome, created = self.admin.create_rate_limit(service_sid, sids.new_sid(sids.RATE_LIMIT), unique_name,
                                                        description, time.time())
        if outcome == "duplicate":
            raise VerifyError(errors.DUPLICATE_UNIQUE_NAME, f"Rate limit with UniqueName '{unique_name}' already "
                              "exists in this service.")
        if outcome == "full":
            raise VerifyError(errors.TOO_MANY_RATE_LIMITS, "Max rate limits per service reached: a service has at "
                              f"most {limits_store.MAX_RATE_LIMITS}.")
        return created

    def list(self, service_sid: str, offset: int, limit: int) -> list[RateLimit]:
        self.services.get(service_sid)
        return self.admin.rate_limits(service_sid, offset, limit)

    def get(self, service_sid: str, sid: str) -> RateLimit:
        self._check_sids(service_sid, sid)
        found = self.admin.rate_limit(service_sid, sid)
        if found is None:
            raise _rate_limit_missing(service_sid, sid)
        return found

    def update(self, service_sid: str, sid: str, description: str | None) -> RateLimit:
        self._check_sids(service_sid, sid)
        updated = self.admin.update_rate_limit(service_sid, sid, description, time.time())
        if updated is None:
            raise _rate_limit_missing(service_sid, sid)
        return updated

    def delete(self, service_sid: str, sid: str) -> None:
        self._check_sids(service_sid, sid)
        if not self.admin.delete_rate_limit(service_sid, sid):
            raise _rate_limit_missing(service_sid, sid)

    # -- buckets ------------------------------------------------------------------------------
    def create_bucket(self, service_sid: str, rate_limit_sid: str, max_: int, interval: int) -> Bucket:
        self._check_sids(service_sid, rate_limit_sid)
        outcome, created = self.admin.create_bucket(service_sid, rate_limit_sid, sids.new_sid(sids.BUCKET), max_,
                                                    interval, time.time())
        if created is None:
            raise _bucket_refusal(outcome, service_sid, rate_limit_sid)
        return created

    def buckets(self, service_sid: str, rate_limit_sid: str, offset: int, limit: int) -> list[Bucket]:
        self._check_sids(service_sid, rate_limit_sid)
        rows = self.admin.buckets(service_sid, rate_limit_sid, offset, limit)
        if rows is None:
            raise _rate_limit_missing(service_sid, rate_limit_sid)
        return rows

    def bucket(self, service_sid: str, rate_limit_sid: str, sid: str) -> Bucket:
        self._check_sids(service_sid, rate_limit_sid, sid)
        found = self.admin.bucket(service_sid, rate_limit_sid, sid)
        if found is None:
            raise _missing(bucket_path(service_sid, rate_limit_sid, sid))
        return found

    def update_bucket(self, service_sid: str, rate_limit_sid: str, sid: str, max_: int | None,
                      interval: int | None) -> Bucket:
        """None leaves a value as it is."""
        if max_ is None and interval is None:
            return self.bucket(service_sid, rate_limit_sid, sid)
        self._check_sids(service_sid, rate_limit_sid, sid)
        outcome, updated = self.admin.update_bucket(service_sid, rate_limit_sid, sid, max_, interval, time.time())
        if updated is None:
            raise _bucket_refusal(outcome, service_sid, rate_limit_sid, sid)
        return updated

    def delete_bucket(self, service_sid: str, rate_limit_sid: str, sid: str) -> None:
        self._check_sids(service_sid, rate_limit_sid, sid)
        if not self.admin.delete_bucket(service_sid, rate_limit_sid, sid):
            raise _missing(bucket_path(service_sid, rate_limit_sid, sid))
