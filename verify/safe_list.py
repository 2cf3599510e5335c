"""Verify's SafeList: numbers telverify's abuse protection never refuses for their country or
their range, one list per account (a send reads it with the number's standing; these
operations change it)."""
from __future__ import annotations

import time

from . import errors, phone, sids
from .errors import VerifyError
from .store.admin import AdminStore, SafeListEntry


def _not_listed(e164: str) -> VerifyError:
    return errors.not_found(f"The requested resource /SafeList/Numbers/{phone.mask(e164)} was not found: "
                            "the number is not in the SafeList")


class SafeList:
    def __init__(self, admin: AdminStore):
        self.admin = admin

    def add(self, account_sid: str, e164: str) -> SafeListEntry:
        entry = self.admin.add_to_safe_list(account_sid, e164, sids.new_sid(sids.SAFE_LIST), time.time())
        if entry is None:
            raise VerifyError(errors.ALREADY_LISTED, f"Phone Number already exists: {phone.mask(e164)} is "
                              "already in the SafeList.")
        return entry

    def get(self, account_sid: str, e164: str) -> SafeListEntry:
        entry = self.admin.safe_list_entry(account_sid, e164)
        if entry is None:
            raise _not_listed(e164)
        return entry

    def list(self, account_sid: str, offset: int, limit: int) -> list[SafeListEntry]:
        return self.admin.safe_list_entries(account_sid, offset, limit)

    def remove(self, account_sid: str, e164: str) -> None:
        if not self.admin.remove_from_safe_list(account_sid, e164):
            raise _not_listed(e164)
