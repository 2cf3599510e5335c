"""The operations on a service: create, read, list, change, delete, and its block list; and
which account owns a service (verify/accounts.py).

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


MAX_OWNERS_KEPT = 100_000  # services whose owner a process remembers (about 150 bytes each)


class Services:
    def __init__(self, store: ServiceStore, admin: AdminStore, first_account_sid: str):
        self.store = store
        self.admin = admin
        self.first_account_sid = first_account_sid  # owns services stored before accounts
        # A service's owner never changes and a sid is never reused, so each process keeps the
        # owners it has read: a request then learns whose service it names without a round trip.
        self._owners: dict[str, str] = {}

    def owner(self, service_sid: str) -> str | None:
        """The sid of the account that owns the service; None when there is no such service."""
        account = self._owners.get(service_sid)
        if account is None and sids.is_sid(service_sid, sids.SERVICE):
            exists, account = self.store.owner(service_sid)
            if not exists:
                return None
            account = account or self.first_account_sid
            if len(self._owners) >= MAX_OWNERS_KEPT:
                self._owners.clear()
            self._owners[service_sid] = account
        return account

    def require_own(self, account_sid: str, service_sid: str) -> None:
        """The 404 of a service that does not exist, or that another account owns: the same
        answer, so an account cannot tell another's sids from sids that do not exist."""
        if self._owners.get(service_sid) != account_sid and self.owner(service_sid) != account_sid:
            raise service_not_found(service_sid)

    def get(self, service_sid: str) -> dict:
        """The service, or its 404."""
        service = self.store.get_service(service_sid) if sids.is_sid(service_sid, sids.SERVICE) else None
        if service is None:
            raise service_not_found(service_sid)
        service["account_sid"] = service.get("account_sid") or self.first_account_sid
        return service

    def create(self, account_sid: str, settings: dict) -> dict:
        sid = sids.new_sid(sids.SERVICE)
        self.store.create_service(sid, account_sid, settings, time.time())
        return self.get(sid)

    def list(self, account_sid: str, offset: int, limit: int) -> list[dict]:
        return self.store.list_services(account_sid, offset, limit)

    def update(self, service_sid: str, changes: dict) -> dict:
        self.get(service_sid)
        if changes and not self.store.update_service(service_sid, changes, time.time()):
            raise service_not_found(service_sid)  # deleted meanwhile
        return self.get(service_sid)

    def delete(self, service_sid: str) -> None:
        """As in Verify, the service's rate limits and block list go with it. The service goes
        first, so nothing new starts meanwhile; its numbers' verifications, lockouts and
        counters are left to their TTLs (a day at most)."""
        service = self.get(service_sid)
        self.store.delete_service(service_sid, service["account_sid"])
        self._owners.pop(service_sid, None)
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
        until = self.store.blocked_until(service_sid, e164, time.time())
        if until is None:
            raise _not_blocked(service_sid, e164)
        return until

    def unblock(self, service_sid: str, e164: str) -> None:
        self.get(service_sid)
        if not self.store.unblock(service_sid, e164):
            raise _not_blocked(service_sid, e164)
