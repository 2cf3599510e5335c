"""The audit log: each admin request through /admin, once answered (verify/admin/audited.py),
with who made it, what it did and to what, and the HTTP status it got, failures included.

A phone number is kept masked, beside its keyed tag (sids.NumberTags), by which a number's
entries are found without the number itself being stored. Entries older than
AUDIT_RETENTION_DAYS are neither answered nor kept. The log must not stop a help desk: when an
entry cannot be stored, it is logged at ERROR instead and the request is answered as it was.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict

from . import phone, sids
from .sids import NumberTags
from .store.audit import AuditEntry, AuditStore
from .store.connection import STORE_ERRORS

log = logging.getLogger("telverify.audit")
DAY = 86400


class AuditLog:
    def __init__(self, store: AuditStore, tags: NumberTags, retention_days: int):
        self.store = store
        self.tags = tags
        self.retention = retention_days * DAY

    def record(self, admin_id: str, action: str, status: int, *, account_sid: str | None = None,
               service_sid: str | None = None, e164: str | None = None, identity: str | None = None) -> AuditEntry:
        now = time.time()
        entry = AuditEntry(sids.new_sid(sids.AUDIT_ENTRY), now, admin_id, action, status, account_sid, service_sid,
                           phone.mask(e164) if e164 else None, self.tags(e164) if e164 else None, identity)
        try:
            # A set no write reaches again is collected a day after the retention (a clean-up only).
            self.store.write(entry, now - self.retention, self.retention + DAY)
        except STORE_ERRORS as exc:
            unsaved = {name: value for name, value in asdict(entry).items() if value is not None and name != "tag"}
            log.error("audit entry not stored (Redis %s): %s", type(exc).__name__, json.dumps(unsaved))
        return entry

    def entries(self, offset: int, limit: int, *, account_sid: str | None = None, service_sid: str | None = None,
                e164: str | None = None, identity: str | None = None) -> list[AuditEntry]:
        """Up to `limit` entries from `offset`, newest first, of the account, service, number and
        entity's identity given (None: any), within the retention."""
        return self.store.read(time.time() - self.retention, offset, limit, account=account_sid,
                               service=service_sid, tag=self.tags(e164) if e164 else None, identity=identity)
