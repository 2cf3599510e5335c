"""Who is asking: HTTP Basic authentication against API_CREDENTIALS (/v2) or ADMIN_CREDENTIALS
(/admin), compared in constant time, the failures counted per client address
(protection/auth_failures.py); and what an application may reach: its own account's services."""
from __future__ import annotations

import base64
import hmac
import logging

from flask import g, request

from ..core import core
from ..errors import AUTHENTICATE, VerifyError
from ..protection.auth_failures import client_address, too_many_failures

log = logging.getLogger("telverify.auth")


def _unauthenticated(setting: str) -> VerifyError:
    return VerifyError(AUTHENTICATE, f"Authenticate: HTTP Basic credentials from {setting} are required.",
                       401, headers={"WWW-Authenticate": 'Basic realm="telverify"'})


def _valid(expected: str, password: str) -> bool:
    # Compare even for unknown ids (expected ""), so timing does not reveal which ids exist.
    return hmac.compare_digest(password.encode(), expected.encode() or b"\0") and bool(expected)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The id and secret of an `Authorization: Basic` header; None without one. A Basic header
    that cannot be read (not base64, not UTF-8 once decoded, or bytes beyond ASCII sent as they
    are, which the server hands on as latin-1) is a failed guess like a wrong secret: no id and
    no secret, which nothing matches."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(" \t").encode("ascii"), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeError are ValueErrors
        return "", ""
    username, _, password = decoded.partition(":")
    return username, password


def require_api_credentials():
    """/v2's before_request: an application's credentials; `g.account_sid` is its account."""
    credentials = core().settings.api_credentials
    key_id = _authenticated(lambda key: credentials[key].secret if key in credentials else "", "API_CREDENTIALS")
    g.account_sid = credentials[key_id].account_sid


def require_admin_credentials():
    """/admin's before_request: an admin's credentials; `g.admin_id` is the admin's id."""
    admins = core().settings.admin_credentials
    g.admin_id = _authenticated(lambda key: admins.get(key, ""), "ADMIN_CREDENTIALS")


def require_own_service():
    """/v2's before_request, after the credentials: a path naming a service (`<service_sid>`)
    answers that service's 404 unless the caller's account owns it."""
    service_sid = (request.view_args or {}).get("service_sid")
    if service_sid is not None:
        core().services.require_own(g.account_sid, service_sid)


def _authenticated(secret_of, setting: str) -> str:
    """The id of valid Basic credentials (`secret_of(id)`: the id's secret, "" for an unknown
    id); else raises the 401 (or the 429 of an address that failed too often)."""
    guard = core().auth_guard
    # remote_addr is the client's: with TRUSTED_PROXIES, ProxyFix has read X-Forwarded-For.
    address = client_address(request.remote_addr)
    failures = guard.failures_of(address) if guard.suspect(address) else 0
    refusal = guard.blocked(address, failures)
    if refusal:
        log.info("request from %s refused for %s more seconds: too many failed authentications",
                 address, refusal)
        raise too_many_failures(address, refusal)
    credentials = _basic_credentials(request.environ.get("HTTP_AUTHORIZATION"))
    if credentials is None:  # no Basic credentials: not a guess, not counted
        raise _unauthenticated(setting)
    slow = failures is None or failures >= guard.before_delay  # a failure now would be delayed
    if slow:
        guard.take_slot(address)
    try:
        key_id, password = credentials
        if _valid(secret_of(key_id), password):
            return key_id
        guard.failed(address, holding_slot=slow)
    finally:
        if slow:
            guard.release_slot()
    raise _unauthenticated(setting)
