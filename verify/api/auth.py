"""Who is asking: HTTP Basic authentication against API_CREDENTIALS (/v2) or ADMIN_CREDENTIALS
(/admin), compared in constant time, the failures counted per client address
(protection/auth_failures.py); and what an application may reach: its own account's services."""
from __future__ import annotations

import base64
import hmac
import logging

import redis
from flask import g, request
from redis.exceptions import RedisClusterException

from .. import metrics
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


def require_application():
    """/v2's before_request (one function: each one Flask calls costs a request a good part of
    what reading a header does): an application's credentials, whose account becomes
    `request.account_sid`; and a path naming a service (`<service_sid>`) answers that service's
    404 unless that account owns it."""
    app_core, asking = core(), request._get_current_object()  # each proxy hop costs a lookup
    settings = app_core.settings
    key_id = _authenticated(app_core, asking, settings.api_secrets, "API_CREDENTIALS")
    asking.account_sid = account_sid = settings.api_credentials[key_id].account_sid
    if not app_core.adoption.done:
        _adopt_unowned(app_core)
    if asking.view_args and "service_sid" in asking.view_args:
        app_core.services.require_own(account_sid, asking.view_args["service_sid"])


def require_admin_credentials():
    """/admin's before_request: an admin's credentials; `g.admin_id` is the admin's id."""
    app_core = core()
    g.admin_id = _authenticated(app_core, request._get_current_object(), app_core.settings.admin_credentials,
                                "ADMIN_CREDENTIALS")
    if not app_core.adoption.done:
        _adopt_unowned(app_core)


def require_metrics_credentials():
    """/metrics: the scraper's credentials (METRICS_CREDENTIALS), or an admin's. A scrape is
    not audited: Prometheus asks every few seconds."""
    app_core = core()
    _authenticated(app_core, request._get_current_object(),
                   {**app_core.settings.admin_credentials, **app_core.settings.metrics_credentials},
                   "METRICS_CREDENTIALS (or ADMIN_CREDENTIALS)")


def _adopt_unowned(app_core) -> None:
    """What was stored before accounts, adopted at start unless Redis was unreachable then. While
    Redis is, the request goes on: it answers its own 400, or its 503."""
    try:
        app_core.adoption.run()
    except (redis.RedisError, RedisClusterException) as exc:
        log.warning("what was stored before accounts is not adopted yet: Redis %s", type(exc).__name__)


def _authenticated(app_core, asking, secrets: dict[str, str], setting: str) -> str:
    """The id of valid Basic credentials (`secrets`: id -> secret); else raises the 401 (or the
    429 of an address that failed too often)."""
    guard = app_core.auth_guard
    # remote_addr is the client's: with TRUSTED_PROXIES, ProxyFix has read X-Forwarded-For.
    address = client_address(asking.remote_addr)
    failures = guard.failures_of(address) if guard.suspect(address) else 0
    refusal = guard.blocked(address, failures)
    if refusal:
        log.info("request from %s refused for %s more seconds: too many failed authentications",
                 address, refusal)
        metrics.refused(None, "auth_failures")
        raise too_many_failures(address, refusal)
    credentials = _basic_credentials(asking.environ.get("HTTP_AUTHORIZATION"))
    if credentials is None:  # no Basic credentials: not a guess, not counted
        raise _unauthenticated(setting)
    slow = failures is None or failures >= guard.before_delay  # a failure now would be delayed
    if slow:
        guard.take_slot(address)
    try:
        key_id, password = credentials
        if _valid(secrets.get(key_id, ""), password):
            return key_id
        guard.failed(address, holding_slot=slow)
    finally:
        if slow:
            guard.release_slot()
    raise _unauthenticated(setting)
