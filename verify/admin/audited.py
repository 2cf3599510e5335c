"""What an admin request acts on, noted by its view in flask.g as it reads it, and the request's
audit entry, written once it is answered (verify/audit.py), whatever the answer: a refusal
shows with what it was refused for."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g

from .. import errors, sids
from ..api.safe_list import number_to_find
from ..core import core
from ..methods.entities import valid_identity
from ..services import service_not_found


@dataclass
class Subject:
    action: str  # what the request does: lockout.clear, block.add, services.list...
    account_sid: str | None = None
    service_sid: str | None = None
    e164: str | None = None  # the number: the entry keeps it masked, beside its tag
    identity: str | None = None  # an entity's, in `service_sid`: the person acted for

    def account(self, account_sid: str) -> str:
        """The account named; a sid that is not `AC` and 32 hex digits answers its 404. Any
        other is answered for: data may outlive the credentials of its account."""
        if not sids.is_sid(account_sid, sids.ACCOUNT):
            raise errors.not_found(f"The requested resource /Accounts/{account_sid[:40]} was not found")
        self.account_sid = account_sid
        return account_sid

    def service(self, service_sid: str) -> str:
        """The service named, and its owner as the account; one that does not exist answers its 404."""
        if sids.is_sid(service_sid, sids.SERVICE):  # only a sid is kept: a path may hold any text
            self.service_sid = service_sid
        self.account_sid = core().services.owner(service_sid)
        if self.account_sid is None:
            raise service_not_found(service_sid)
        return service_sid

    def entity(self, service_sid: str, identity: str) -> str:
        """The service named (its 404 as service() answers it), and the identity of one of its
        entities, kept only when well formed: a path may hold any text."""
        if valid_identity(identity):
            self.identity = identity
        self.service(service_sid)
        return identity

    def number(self, e164: str) -> str:
        self.e164 = e164
        return e164


def acting_on(action: str) -> Subject:
    """Note the request's action; the view then notes what it acts on, each once read."""
    g.audit_subject = Subject(action)
    return g.audit_subject


def acting_on_number(action: str, service_sid: str, number: str) -> str:
    """acting_on for a path naming a service's number: the number, as E.164. It is read (and
    noted) first, so that the entry of a request for an unknown service still names it."""
    subject = acting_on(action)
    e164 = subject.number(number_to_find(number))
    subject.service(service_sid)
    return e164


def write_audit_entry(response):
    """The blueprint's after_request: the audit entry of a request whose view noted its action
    (not one refused for its credentials before, nor one reading the audit log)."""
    subject = g.pop("audit_subject", None)
    if subject is not None:
        core().audit.record(g.admin_id, subject.action, response.status_code, account_sid=subject.account_sid,
                            service_sid=subject.service_sid, e164=subject.e164, identity=subject.identity)
    return response
