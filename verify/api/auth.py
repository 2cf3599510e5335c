"""HTTP Basic authentication of /v2 against API_CREDENTIALS, compared in constant time, and
the failures counted per client address (protection/auth_failures.py)."""
from __future__ import annotations

import base64
import hmac
import logging

from flask import request

from ..core import core
from ..errors import AUTHENTICATE, VerifyError
from ..protection.auth_failures import client_address, too_many_failures

log = logging.getLogger("telverify.auth")


def _unauthenticated() -> VerifyError:
    return VerifyError(AUTHENTICATE, "Authenticate: HTTP Basic credentials from API_CREDENTIALS are required.",
                       401, headers={"WWW-Authenticate": 'Basic realm="telverify"'})


def _valid(username: str | None, password: str | None) -> bool:
    expected = core().settings.api_credentials.get(username or "", "")
    # Compare even for unknown ids, so timing does not reveal which ids exist.
    return hmac.compare_digest((password or "").encode(), expected.encode() or b"\0") and bool(expected)


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
        raise _unauthenticated()
    slow = failures is None or failures >= guard.before_delay  # a failure now would be delayed
    if slow:
        guard.take_slot(address)
    try:
        if _valid(*credentials):
            return None
        guard.failed(address, holding_slot=slow)
    finally:
        if slow:
            guard.release_slot()
    raise _unauthenticated()
