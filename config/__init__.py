"""Settings, read once from the environment and validated at start-up.

Every setting is named once here. A secret may also come from a file named by
`<NAME>_FILE` (Docker and Kubernetes secrets). Problems are collected and
reported together, so an operator fixes a deployment in one pass.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

from verify import locales
from verify.accounts import Credential, parse_credentials
from verify.protection import rules
from verify.protection.rules import AllowedCountries
from verify.store import connection, sentinel

DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com"
DEFAULT_GUNICORN_THREADS = "32"  # config/gunicorn.conf.py's threads per worker process
SECRET_NAMES = ("TWILIO_AUTH_TOKEN", "API_CREDENTIALS", "ADMIN_CREDENTIALS", "METRICS_CREDENTIALS", "SECRET_KEY",
                "SECRET_KEY_PREVIOUS", "MY_DEMO_PEOPLE", "MY_OIDC_CLIENT_SECRET", "REDIS_SENTINEL_PASSWORD")


class ConfigError(Exception):
    """The environment does not describe a service that can start."""


# Entra's External MFA (verify/eam/): where Microsoft posts its authorize requests from, in each
# of its clouds; answers go back to one of these and nowhere else.
MICROSOFT_REDIRECT_URIS = tuple(f"https://{host}/common/federation/externalauthprovider" for host in (
    "login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"))
DEFAULT_MICROSOFT_DISCOVERY_URL = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
# Entra abandons a sign-in about five minutes after sending the person to the provider: a sign-in
# lasts at most that long (EAM_SIGNIN_SECONDS), and at least as long as a press-# call may ring
# (30 s).
ENTRA_WAIT_SECONDS = 300
SIGNIN_SECONDS_MIN = 30
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class EamSettings:
    """telverify as an Entra External MFA provider; absent (None on Settings) unless EAM_CLIENT_ID
    and EAM_TENANTS are both set."""
    client_id: str  # the provider's app registration: the hint's audience and our tokens' `aud`
    tenants: dict[str, str]  # Entra tenant id (lower case) -> the service holding its people
    microsoft_discovery_url: str
    redirect_uris: tuple[str, ...]  # Microsoft's three, then EAM_EXTRA_REDIRECT_URIS
    key_rollover_seconds: int  # a new signing key is published this long before it signs
    # How long a sign-in lasts: EAM_SIGNIN_SECONDS, 30 to Entra's own 300. Tests that watch one
    # expire set fewer on the Settings they build the app with (docs/entra.md), never through the
    # environment, whose minimum keeps a deployment's sign-ins long enough for a phone call.
    signin_seconds: int = ENTRA_WAIT_SECONDS


@dataclass(frozen=True)
class OidcSettings:
    """/my/'s first step through the organisation's OpenID Connect provider (code flow, PKCE)."""
    issuer: str  # its discovery document is at <issuer>/.well-known/openid-configuration
    client_id: str
    client_secret: str
    identity_claim: str  # the ID token's claim that is the person's Entity Identity (Entra: oid)


@dataclass(frozen=True)
class MySettings:
    """The people's own pages under /my/ (verify/portal/); absent (None on Settings) unless
    MY_SERVICE_SID is set."""
    service_sid: str  # the service whose Entities are the people who sign in here
    demo_people: dict[str, str]  # identity -> password: the demo directory's first step
    session_seconds: int  # a signed-in session lasts this long, however busy
    secure_cookie: bool  # PUBLIC_BASE_URL is https: the session cookie is sent only over TLS
    oidc: OidcSettings | None = None  # the organisation's provider; None: the demo directory only


@dataclass(frozen=True)
class Settings:
    redis_url: str
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_from_number: str | None
    twilio_messaging_service_sid: str | None
    twilio_api_base_url: str
    twilio_timeout_seconds: float
    twilio_threads_per_worker: int  # a worker process's threads that may wait on Twilio at once
    public_base_url: str
    api_credentials: dict[str, Credential]  # key id -> the application credential and its account
    admin_credentials: dict[str, str]  # admin id -> secret: the help desk's and operator's /admin API
    metrics_credentials: dict[str, str]  # scraper id -> secret: /metrics, and nothing else
    audit_retention_days: int
    secret_key: str
    secret_key_previous: str | None  # what SECRET_KEY was before a rotation: its sealed values still open
    log_level: str
    log_format: str  # plain | json (verify/logs.py)
    voice_names: dict[str, str]  # language -> Twilio <Say voice>, e.g. {"en": "Polly.Amy"}
    trusted_proxies: int  # reverse proxies in front that append to X-Forwarded-For
    auth_failures_before_delay: int  # failed Basic auths per address per window before slowing
    auth_failures_before_block: int  # ... before refusing the address outright
    auth_failure_window_seconds: int
    limits: dict  # built-in limit name -> tuple of `limits` items (verify/protection/rules.py)
    lockout_failed_checks: int
    allowed_countries: AllowedCountries
    # Refuse to start unless Redis keeps an append-only file (verify/store/persistence.py).
    require_redis_persistence: bool = False
    redis_persistence_confirmed: bool = False  # the provider confirmed it where CONFIG is refused
    redis_sentinel_password: str | None = None  # the Sentinels' own requirepass (redis+sentinel:// URLs)
    eam: EamSettings | None = None  # Entra External MFA; None: off, its routes answer 404
    my: MySettings | None = None  # the people's own pages; None: off, /my/ answers 404

    @cached_property
    def api_secrets(self) -> dict[str, str]:
        """Application credential id -> secret."""
        return {key_id: credential.secret for key_id, credential in self.api_credentials.items()}

    @property
    def first_account_sid(self) -> str:
        """The account of API_CREDENTIALS' first entry: it owns what was stored before accounts."""
        return next(iter(self.api_credentials.values())).account_sid

    @property
    def signature_base_url(self) -> str:
        return self.public_base_url.rstrip("/")


def _read(env, name: str) -> str | None:
    value = env.get(name)
    file_name = env.get(f"{name}_FILE") if name in SECRET_NAMES else None
    if file_name and not value:
        try:
            with open(file_name, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from exc
    return value.strip() if value and value.strip() else None


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:  # a name other than localhost
        return False


def _check_public_base_url(env, url: str, problems: list[str]) -> None:
    """PUBLIC_BASE_URL is https: Twilio's requests to it are answered with what a call says, the
    code included, and a plain-http one captured on the way can be replayed, signature and all,
    to hear the code. http is for a loopback host (development), or where the operator accepts
    that risk with PUBLIC_BASE_URL_ALLOW_HTTP=1."""
    if not _is_http_url(url):
        problems.append("PUBLIC_BASE_URL must be the http(s) URL at which Twilio reaches this service")
        return
    allow = _read(env, "PUBLIC_BASE_URL_ALLOW_HTTP") or "0"
    if allow not in ("0", "1"):
        problems.append("PUBLIC_BASE_URL_ALLOW_HTTP must be 1 (accept a plain http PUBLIC_BASE_URL) or 0")
        return
    parts = urlsplit(url)
    if parts.scheme == "http" and allow == "0" and not _is_loopback(parts.hostname):
        problems.append("PUBLIC_BASE_URL must be an https:// URL: a call's webhook captured over plain http can "
                        "be replayed to hear its code. http:// is accepted for a loopback host (127.0.0.1, ::1, "
                        "localhost), or with PUBLIC_BASE_URL_ALLOW_HTTP=1, which accepts that risk")


def _flag(env, name: str, problems: list[str], meaning: str) -> bool:
    value = _read(env, name) or "0"
    if value not in ("0", "1"):
        problems.append(f"{name} must be 1 ({meaning}) or 0")
    return value == "1"


def _parse_voice_names(raw: str, problems: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        language, sep, voice = item.partition("=")
        if not sep or language.strip() not in locales.LANGUAGES or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}",
                                                                                   voice.strip()):
            problems.append(f"VOICE_NAMES: '{item}' must be language=voice, the language one of "
                            f"{', '.join(locales.LANGUAGES)}, e.g. en=Polly.Amy")
            continue
        names[language.strip()] = voice.strip()
    return names


def _parse_protection(env, problems: list[str]):
    """The built-in abuse limits (LIMIT_<NAME>), the lockout threshold and geo permissions."""
    limits = {}
    for name, default in rules.LIMIT_DEFAULTS.items():
        variable = f"LIMIT_{name.upper()}"
        text = _read(env, variable) or default
        try:
            limits[name] = rules.parse_limit(text)
        except ValueError:
            problems.append(f"{variable}: '{text}' must be like '10 per 10 minutes; 30 per day', or 'unlimited'")
            limits[name] = ()
        too_long = rules.window_refusal(name, limits[name])
        if too_long:
            problems.append(f"{variable}: '{text}' {too_long}")
    lockout = _whole_number(env, "LOCKOUT_FAILED_CHECKS", rules.LOCKOUT_DEFAULT, 1, 100, problems,
                            " (NIST SP 800-63B's maximum)")
    text = _read(env, "ALLOWED_COUNTRIES") or rules.ALLOWED_COUNTRIES_DEFAULT
    try:
        allowed = rules.AllowedCountries.parse(text)
    except ValueError as exc:
        problems.append(f"ALLOWED_COUNTRIES: '{exc}' is neither an ISO country (US) nor a calling code (44), nor *")
        allowed = None
    return limits, lockout, allowed


def _whole_number(env, name: str, default: int, low: int, high: int, problems: list[str],
                  why: str = "") -> int:
    raw = _read(env, name) or str(default)
    if re.fullmatch(r"[0-9]{1,6}", raw) and low <= int(raw) <= high:
        return int(raw)
    problems.append(f"{name} must be a whole number from {low} to {high}{why}")
    return default


def _twilio_threads_per_worker(env, problems: list[str]) -> int:
    """How many of a worker process's threads may wait on Twilio at once (verify/twilio/slots.py):
    three quarters of GUNICORN_THREADS by default (with Twilio answering in 150 ms, 24 of 32 threads
    send 160 a second), read as config/gunicorn.conf.py reads it, and never all of them, so that
    checks and webhooks always have a thread."""
    try:
        threads = int(env.get("GUNICORN_THREADS", DEFAULT_GUNICORN_THREADS))
    except ValueError:
        problems.append("GUNICORN_THREADS must be a whole number: the threads of each gunicorn worker process")
        return 1
    if threads < 2:
        problems.append("GUNICORN_THREADS must be at least 2: a thread waiting on Twilio must leave another for "
                        "checks and webhooks")
        return 1
    return _whole_number(env, "TWILIO_THREADS_PER_WORKER", max(1, min(threads - 1, threads * 3 // 4)), 1,
                         threads - 1, problems,
                         f" (fewer than GUNICORN_THREADS, {threads}: checks and webhooks keep the others)")


def _parse_eam(env, public_base_url: str, problems: list[str]) -> EamSettings | None:
    """EAM_* (docs/configuration.md): None unless EAM_CLIENT_ID and EAM_TENANTS are both set."""
    client_id, raw_tenants = _read(env, "EAM_CLIENT_ID"), _read(env, "EAM_TENANTS")
    if not client_id and not raw_tenants:
        return None
    if not (client_id and raw_tenants):
        problems.append("EAM_CLIENT_ID and EAM_TENANTS go together: Entra External MFA needs the provider app's "
                        "client id and at least one tenant=service pair (set both, or neither to leave it off)")
        return None
    if not GUID.fullmatch(client_id):
        problems.append("EAM_CLIENT_ID must be the application (client) id of the provider's app registration, a "
                        "GUID such as 00001111-aaaa-2222-bbbb-3333cccc4444")
    tenants: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw_tenants.split(","))):
        tenant, sep, service = (part.strip() for part in item.partition("="))
        if not sep or not GUID.fullmatch(tenant) or not re.fullmatch(r"VA[0-9a-fA-F]{32}", service):
            problems.append(f"EAM_TENANTS: '{item[:80]}' must be tenant=service, an Entra tenant id (a GUID) and "
                            "the telverify service holding its people (VA followed by 32 hexadecimal characters)")
        elif tenant.lower() in tenants:
            problems.append(f"EAM_TENANTS: tenant {tenant} is given twice; each tenant has one service")
        else:
            tenants[tenant.lower()] = service
    discovery = _read(env, "EAM_MICROSOFT_DISCOVERY_URL") or DEFAULT_MICROSOFT_DISCOVERY_URL
    if not _is_http_url(discovery) or (urlsplit(discovery).scheme == "http"
                                       and not _is_loopback(urlsplit(discovery).hostname)):
        problems.append("EAM_MICROSOFT_DISCOVERY_URL must be an https:// URL (http:// only for a loopback host: a "
                        "local stand-in for Entra)")
    extra = tuple(filter(None, (part.strip() for part in (_read(env, "EAM_EXTRA_REDIRECT_URIS") or "").split(","))))
    for uri in extra:
        parts = urlsplit(uri)
        if not _is_http_url(uri) or parts.query or parts.fragment:
            problems.append(f"EAM_EXTRA_REDIRECT_URIS: '{uri[:80]}' must be an http(s) URL without a query or "
                            "fragment (a test peer's; never set in production)")
    base = urlsplit(public_base_url or "")
    if public_base_url and (base.query or base.fragment or base.path.strip("/")):
        problems.append("PUBLIC_BASE_URL must be a bare origin such as https://verify.example.com (no path, query "
                        "or fragment) with EAM on: it is the issuer Entra compares our tokens' `iss` with, and "
                        "/.well-known/openid-configuration is served at its root")
    hours = _whole_number(env, "EAM_KEY_ROLLOVER_HOURS", 48, 1, 24 * 30, problems,
                          " (Entra caches our keys for 24 hours: a new key is published this long before it signs)")
    signin_seconds = _whole_number(env, "EAM_SIGNIN_SECONDS", ENTRA_WAIT_SECONDS, SIGNIN_SECONDS_MIN,
                                   ENTRA_WAIT_SECONDS, problems,
                                   " (Entra stops waiting for a sign-in after 5 minutes, and a call needs time to "
                                   "ring and be answered)")
    return EamSettings(client_id=client_id.lower(), tenants=tenants, microsoft_discovery_url=discovery,
                       redirect_uris=MICROSOFT_REDIRECT_URIS + extra, key_rollover_seconds=hours * 3600,
                       signin_seconds=signin_seconds)


def _parse_my(env, public_base_url: str, problems: list[str]) -> MySettings | None:
    service = _read(env, "MY_SERVICE_SID")
    if service is None:
        return None
    if not re.fullmatch(r"VA[0-9a-fA-F]{32}", service):
        problems.append("MY_SERVICE_SID must be the service whose people use /my/: VA followed by 32 hexadecimal "
                        "characters")
    people: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (_read(env, "MY_DEMO_PEOPLE") or "").split(","))):
        identity, sep, password = item.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9-]{8,64}", identity) or len(password) < 8:
            problems.append(f"MY_DEMO_PEOPLE: each entry must be identity:password, the identity 8 to 64 letters, "
                            f"digits and dashes (an Entity's), the password at least 8 characters ('{identity[:40]}')")
        else:
            people[identity] = password
    oidc = _parse_my_oidc(env, problems)
    if not people and oidc is None:
        problems.append("/my/ needs a first step: MY_OIDC_ISSUER with MY_OIDC_CLIENT_ID and MY_OIDC_CLIENT_SECRET "
                        "(the organisation's OpenID Connect provider), or MY_DEMO_PEOPLE (a demo directory)")
    minutes = _whole_number(env, "MY_SESSION_MINUTES", 60, 5, 24 * 60, problems, "")
    return MySettings(service_sid=service, demo_people=people, session_seconds=minutes * 60,
                      secure_cookie=urlsplit(public_base_url or "").scheme == "https", oidc=oidc)


def _parse_my_oidc(env, problems: list[str]) -> OidcSettings | None:
    issuer = _read(env, "MY_OIDC_ISSUER")
    if issuer is None:
        return None
    parts = urlsplit(issuer)
    if not _is_http_url(issuer) or parts.query or parts.fragment or (
            parts.scheme == "http" and not _is_loopback(parts.hostname)):
        problems.append("MY_OIDC_ISSUER must be the provider's issuer, an https:// URL without query or fragment "
                        "(http:// only for a loopback host: a local test provider)")
    client_id, secret = _read(env, "MY_OIDC_CLIENT_ID"), _read(env, "MY_OIDC_CLIENT_SECRET")
    if not client_id or not secret:
        problems.append("MY_OIDC_ISSUER needs MY_OIDC_CLIENT_ID and MY_OIDC_CLIENT_SECRET: the app registration "
                        "telverify signs people in as")
    claim = _read(env, "MY_OIDC_IDENTITY_CLAIM") or "sub"
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", claim):
        problems.append("MY_OIDC_IDENTITY_CLAIM must name a claim of the ID token, such as sub or oid")
    return OidcSettings(issuer=issuer.rstrip("/"), client_id=client_id or "", client_secret=secret or "",
                        identity_claim=claim)


def load_settings(env=None) -> Settings:
    """Read and validate the environment; raise ConfigError naming every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []

    def required(name: str) -> str:
        value = _read(env, name)
        if value is None:
            problems.append(f"{name} is required")
        return value or ""

    redis_url = _read(env, "REDIS_URL") or "redis://127.0.0.1:6379/0"
    redis_scheme = redis_url.partition("://")[0]  # urlsplit refuses a Sentinel URL's IPv6 hosts
    if redis_scheme not in connection.SCHEMES:
        problems.append("REDIS_URL must start with redis://, rediss:// or unix://, for a Redis Cluster "
                        "redis+cluster:// or rediss+cluster://, or for Redis Sentinel redis+sentinel:// or "
                        "rediss+sentinel://")
    elif redis_scheme in connection.CLUSTER_SCHEMES + sentinel.SCHEMES:
        kind, parse = (("a Redis Cluster's", connection.cluster_node) if redis_scheme in connection.CLUSTER_SCHEMES
                       else ("a Redis Sentinel", sentinel.target))
        try:
            parse(redis_url)
        except ValueError as exc:
            problems.append(f"REDIS_URL: {kind} URL {exc}")
    sentinel_password = _read(env, "REDIS_SENTINEL_PASSWORD") or None
    if sentinel_password and redis_scheme not in sentinel.SCHEMES:
        problems.append("REDIS_SENTINEL_PASSWORD is the Sentinels' password: it needs a redis+sentinel:// or "
                        "rediss+sentinel:// REDIS_URL")
    require_persistence = _flag(env, "REQUIRE_REDIS_PERSISTENCE", problems,
                                "refuse to start unless Redis keeps an append-only file")
    persistence_confirmed = _flag(env, "REDIS_PERSISTENCE_CONFIRMED", problems,
                                  "Redis's provider confirmed an append-only file written every second")

    account_sid = required("TWILIO_ACCOUNT_SID")
    if account_sid and not re.fullmatch(r"AC[0-9a-fA-F]{32}", account_sid):
        problems.append("TWILIO_ACCOUNT_SID must be AC followed by 32 hexadecimal characters")
    auth_token = required("TWILIO_AUTH_TOKEN")

    from_number = _read(env, "TWILIO_FROM_NUMBER")
    messaging_sid = _read(env, "TWILIO_MESSAGING_SERVICE_SID")
    if not from_number and not messaging_sid:
        problems.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required to send texts")
    if from_number and not re.fullmatch(r"\+[1-9]\d{6,14}", from_number):
        problems.append("TWILIO_FROM_NUMBER must be an E.164 number such as +15017122661")
    if messaging_sid and not re.fullmatch(r"MG[0-9a-fA-F]{32}", messaging_sid):
        problems.append("TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hexadecimal characters")

    api_base = _read(env, "TWILIO_API_BASE_URL") or DEFAULT_TWILIO_API_BASE_URL
    if not _is_http_url(api_base):
        problems.append("TWILIO_API_BASE_URL must be an http(s) URL")

    timeout_raw = _read(env, "TWILIO_TIMEOUT_SECONDS") or "10"
    try:
        timeout = float(timeout_raw)
        if not 0.1 <= timeout <= 14:
            raise ValueError
    except ValueError:
        # Twilio gives up on a webhook after 15 s, so a slower carrier call is never useful.
        problems.append("TWILIO_TIMEOUT_SECONDS must be a number of seconds between 0.1 and 14")
        timeout = 10.0
    threads_per_worker = _twilio_threads_per_worker(env, problems)

    public_base_url = required("PUBLIC_BASE_URL")
    if public_base_url:
        _check_public_base_url(env, public_base_url, problems)

    raw_credentials = required("API_CREDENTIALS")
    credentials = parse_credentials(raw_credentials, "API_CREDENTIALS", problems, grouped=True) \
        if raw_credentials else {}
    raw_admin = _read(env, "ADMIN_CREDENTIALS")
    admin = {key_id: credential.secret for key_id, credential in
             parse_credentials(raw_admin, "ADMIN_CREDENTIALS", problems, grouped=False).items()} if raw_admin else {}
    for key_id in sorted(admin.keys() & credentials.keys()):
        problems.append(f"ADMIN_CREDENTIALS: '{key_id}' is also in API_CREDENTIALS; an id is an application's "
                        "or an admin's, never both")
    raw_metrics = _read(env, "METRICS_CREDENTIALS")
    scrapers = {key_id: credential.secret for key_id, credential in
                parse_credentials(raw_metrics, "METRICS_CREDENTIALS", problems, grouped=False).items()} \
        if raw_metrics else {}
    for key_id in sorted(scrapers.keys() & (credentials.keys() | admin.keys())):
        problems.append(f"METRICS_CREDENTIALS: '{key_id}' is also in API_CREDENTIALS or ADMIN_CREDENTIALS; a "
                        "scraper's id is its own")
    audit_days = _whole_number(env, "AUDIT_RETENTION_DAYS", 400, 1, 3650, problems)
    # Read by gunicorn's workers (config/workers.py), not the app; checked here, where a wrong
    # value stops the start.
    _whole_number(env, "SHUTDOWN_DRAIN_SECONDS", 5, 0, 15, problems)

    secret_key = required("SECRET_KEY")
    if secret_key and len(secret_key) < 32:
        problems.append("SECRET_KEY must be at least 32 characters (it keys code hashes and encryption)")
    secret_key_previous = _read(env, "SECRET_KEY_PREVIOUS") or None
    if secret_key_previous is not None and len(secret_key_previous) < 32:
        problems.append("SECRET_KEY_PREVIOUS must be at least 32 characters, as SECRET_KEY was")
    if secret_key_previous is not None and secret_key_previous == secret_key:
        problems.append("SECRET_KEY_PREVIOUS is SECRET_KEY: after a rotation it holds the key SECRET_KEY replaced")

    log_level = (_read(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    log_format = (_read(env, "LOG_FORMAT") or "plain").lower()
    if log_format not in ("plain", "json"):
        problems.append("LOG_FORMAT must be plain (a line of text per event) or json (a JSON object per line)")

    voice_names = _parse_voice_names(_read(env, "VOICE_NAMES") or "", problems)
    trusted_proxies = _whole_number(env, "TRUSTED_PROXIES", 0, 0, 5, problems)
    auth_delay = _whole_number(env, "AUTH_FAILURES_BEFORE_DELAY", 5, 0, 1000, problems)
    auth_block = _whole_number(env, "AUTH_FAILURES_BEFORE_BLOCK", 20, 1, 1000, problems)
    if auth_delay > auth_block:
        problems.append("AUTH_FAILURES_BEFORE_DELAY must not be above AUTH_FAILURES_BEFORE_BLOCK")
    auth_window = _whole_number(env, "AUTH_FAILURE_WINDOW_SECONDS", 900, 1, 86400, problems)
    limits, lockout, allowed = _parse_protection(env, problems)
    eam = _parse_eam(env, public_base_url, problems)
    my = _parse_my(env, public_base_url, problems)

    if problems:
        raise ConfigError("telverify cannot start:\n  - " + "\n  - ".join(problems))
    return Settings(
        redis_url=redis_url,
        twilio_account_sid=account_sid,
        twilio_auth_token=auth_token,
        twilio_from_number=from_number,
        twilio_messaging_service_sid=messaging_sid,
        twilio_api_base_url=api_base.rstrip("/"),
        twilio_timeout_seconds=timeout,
        twilio_threads_per_worker=threads_per_worker,
        public_base_url=public_base_url,
        api_credentials=credentials,
        admin_credentials=admin,
        metrics_credentials=scrapers,
        audit_retention_days=audit_days,
        secret_key=secret_key,
        secret_key_previous=secret_key_previous,
        log_level=log_level,
        log_format=log_format,
        voice_names=voice_names,
        trusted_proxies=trusted_proxies,
        auth_failures_before_delay=auth_delay,
        auth_failures_before_block=auth_block,
        auth_failure_window_seconds=auth_window,
        limits=limits,
        lockout_failed_checks=lockout,
        allowed_countries=allowed,
        require_redis_persistence=require_persistence,
        redis_persistence_confirmed=persistence_confirmed,
        redis_sentinel_password=sentinel_password,
        eam=eam,
        my=my,
    )
