"""Accounts: whose services, verifications and SafeList a credential reaches.

Every application credential (`API_CREDENTIALS`) belongs to one account, and an account sees
only what its credentials made. Accounts are configuration, not data: an entry `id:secret` is
an account of its own, and `account/id:secret` puts the credential `id` in `account`, so several
credentials (a key being rotated, several servers of one application) share one account.

An account's sid is `AC` + 32 hex digits, as Twilio's are: the account named in the entry when
it is written so (`AC0123...`), otherwise one derived from the name. Twilio's SDKs can then be
used unchanged: `Client(id, secret, account_sid)` in Python, `twilio(id, secret, {accountSid})`
in Node, which refuses a username that does not start with AC unless an accountSid is given.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import sids


@dataclass(frozen=True)
class Credential:
    key_id: str
    secret: str
    account_sid: str


def account_sid_of(name: str) -> str:
    """The sid of the account `name`: the name itself when it is an account sid, else a digest
    of it (stable across restarts and machines; it is shown in every resource, so not secret)."""
    if sids.is_sid(name, sids.ACCOUNT):
        return name
    return "AC" + hashlib.sha256(b"telverify account\0" + name.encode()).hexdigest()[:32]


def parse_credentials(raw: str, setting: str, problems: list[str], *, grouped: bool) -> dict[str, Credential]:
    """`id:secret` entries separated by commas, each id its own account; with `grouped`, an
    entry may also be `account/id:secret`. Problems are appended, worded for `setting`."""
    credentials: dict[str, Credential] = {}
    for item in raw.split(","):
        head, sep, secret = item.strip().partition(":")
        account, slash, key_id = head.rpartition("/") if grouped else ("", "", head)
        if not sep or not key_id or not secret or (slash and not account):
            form = "id:secret or account/id:secret" if grouped else "id:secret"
            problems.append(f"{setting}: each entry must be {form}, separated by commas")
            continue
        if len(secret) < 16:
            problems.append(f"{setting}: the secret for '{key_id}' is shorter than 16 characters")
        if key_id in credentials:
            problems.append(f"{setting}: '{key_id}' is given twice")
        credentials[key_id] = Credential(key_id, secret, account_sid_of(account or key_id))
    return credentials


def accounts_of(credentials: dict[str, Credential]) -> dict[str, tuple[str, ...]]:
    """Account sid -> its credentials' ids, in the order the setting names them."""
    accounts: dict[str, tuple[str, ...]] = {}
    for credential in credentials.values():
        accounts[credential.account_sid] = accounts.get(credential.account_sid, ()) + (credential.key_id,)
    return accounts
