"""A number's lockout, as a help desk sees and clears it (/admin).

Too many wrong codes for one number in one service lock its checks and new code sends
(protection/rules.py); an approve call still goes through, since a # pressed on the person's
own phone cannot be guessed. A help desk that has identified the person another way clears the
lockout here: its end, its failed checks, and the level that makes each further lockout
longer.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from . import phone
from .protection.rules import LOCKOUT_WINDOW
from .services import Services, service_not_found
from .store.lockouts import LockoutStore

log = logging.getLogger("telverify.lockouts")


@dataclass(frozen=True)
class Lockout:
    account_sid: str
    service_sid: str
    phone_number: str
    locked_until: float | None  # None: not locked now
    failed_checks: int  # wrong codes within the window that a lockout counts them in


class Lockouts:
    def __init__(self, store: LockoutStore, services: Services):
        self.store = store
        self.services = services

    def _owner(self, service_sid: str) -> str:
        account_sid = self.services.owner(service_sid)
        if account_sid is None:
            raise service_not_found(service_sid)
        return account_sid

    def get(self, service_sid: str, e164: str) -> Lockout:
        """The number's standing in the service, or the service's 404."""
        account_sid = self._owner(service_sid)
        now = time.time()
        until, failures = self.store.state(service_sid, e164, now - LOCKOUT_WINDOW)
        return Lockout(account_sid, service_sid, e164, until if until and until > now else None, failures)

    def clear(self, service_sid: str, e164: str) -> bool:
        """Lift the number's lockout; nothing to lift is no error, the number is then as wanted.
        Whether there was something to lift. Raises the service's 404."""
        self._owner(service_sid)
        cleared = bool(self.store.clear(service_sid, e164))
        if cleared:
            log.info("lockout of %s on %s cleared", phone.mask(e164), service_sid)
        return cleared
