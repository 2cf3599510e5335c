"""The operations on a service: create, read, list, change, delete, and its block list.

A block keeps a number from being called or texted for one service: a fraud report on an
approve call adds one for 90 days; a help desk adds and lifts them.
"""
from __future__ import annotations

import time

from . import errors, phone, sids
from .errors import VerifyError
from .store.admin import AdminStore
from .store.services import FRAUD_BLOCK_SECONDS, ServiceStore


def service_not_found(service_sid: str) -> VerifyError:
    return errors.not_found(f"The requested resource /Services/{service_sid} was not found")


def _not_blocked(service_sid: str, e164: str) -> VerifyError:
    return errors.not_found(f"{phone.mask(e164)} is not blocked on service {service_sid}.")


class Services:
    def __init__(self, store: ServiceStore, admin: AdminStore):
        self.store = store
        self.admin = admin

    def get(self, service_sid: str) -> dict:
        """The service, or its 404."""
        service = self.store.get_service(service_sid) if sids.is_sid(service_sid, sids.SERVICE) else None
        if service is None:
            raise service_not_found(service_sid)
        return service

    def create(self, settings: dict) -> dict:
        sid = sids.new_sid(sids.SERVICE)
        self.store.create_service(sid, settings, time.time())
        return self.get(sid)

    def list(self, offset: int, limit: int) -> list[dict]:
        return self.store.list_services(offset, limit)

    def update(self, service_sid: str, changes: dict) -> dict:
        self.get(service_sid)
        if changes and not self.store.update_service(service_sid, changes, time.time()):
            raise service_not_found(service_sid)  # deleted meanwhile
        return self.get(service_sid)

    def delete(self, service_sid: str) -> None:
        """As in Verify, the service's rate limits and block list go with it. The service goes
        first, so nothing new starts meanwhile; its numbers' verifications, lockouts and
        counters are left to their TTLs (a day at most)."""
        self.get(service_sid)
        self.store.delete_service(service_sid)
        self.admin.delete_rate_limits(service_sid)
        self.store.unblock_all(service_sid)

    # -- the block list ---------------------------------------------------------------------
    def blocked_numbers(self, service_sid: str, offset: int, limit: int) -> list[tuple[str, float]]:
        """(number, when its block lifts), soonest first."""
        self.get(service_sid)
        return self.store.blocked_numbers(service_sid, time.time(), offset, limit)

    def block(self, service_sid: str, e164: str, seconds: int | None) -> float:
        """Block the number for `seconds` (None: as long as a fraud report does); when it lifts."""
        self.get(service_sid)
        seconds = seconds or FRAUD_BLOCK_SECONDS
        now = time.time()
        self.store.block(service_sid, e164, now, seconds)
        return now + seconds

    def blocked_until(self, service_sid: str, e164: str) -> float:
        """When the number's block lifts, or the 404 of a number not blocked."""
        self.get(service_sid)
        seconds = self.store.blocked_seconds(service_sid, e164)
        if not seconds:
            raise _not_blocked(service_sid, e164)
        return time.time() + seconds

    def unblock(self, service_sid: str, e164: str) -> None:
        self.get(service_sid)
        if not self.store.unblock(service_sid, e164):
            raise _not_blocked(service_sid, e164)
