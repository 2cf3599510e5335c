"""telverify: the app factory, and `app` for gunicorn (`gunicorn app:app`)."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import redis
from flask import Flask, jsonify, request
from flask_babel import Babel
from redis.exceptions import RedisClusterException
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import sms
import voice
from config import ConfigError, Settings, load_settings
from verify import admin, api, errors, logs, metrics, shutdown
from verify.api import openapi
from verify.api.auth import require_metrics_credentials
from verify.audit import AuditLog
from verify.codes import CodeBook
from verify.core import Core, core
from verify.eam import views as eam_views
from verify.eam.signins import build_eam
from verify.errors import VerifyError
from verify.form_request import MAX_BODY, FormRequest
from verify.lockouts import Lockouts
from verify.methods import Methods
from verify.methods.backup import MethodBackup
from verify.methods.helpdesk import HelpDesk
from verify.observed import Observed
from verify.portal import build_portal
from verify.portal import views as portal_views
from verify.protection.admission import Admission, lockout_arguments
from verify.protection.auth_failures import AuthGuard
from verify.protection.windows import Limiter
from verify.rate_limits import RateLimits
from verify.safe_list import SafeList
from verify.sealing import Keyring
from verify.services import Services
from verify.sids import NumberTags
from verify.store import persistence
from verify.store.admin import AdminStore
from verify.store.audit import AuditStore
from verify.store.backup import BackupStore
from verify.store.connection import connect
from verify.store.lockouts import LockoutStore
from verify.store.methods import MethodStore
from verify.store.services import ServiceStore
from verify.store.upgrade import Adoption
from verify.store.verifications import Store
from verify.twilio.client import make_twilio_client
from verify.twilio.slots import CarrierSlots
from verify.verifications import Verifications

log = logging.getLogger("telverify")


def create_app(settings: Settings | dict | None = None) -> Flask:
    """Build the app. `settings` may be a Settings, or a dict read like the environment (tests)."""
    if not isinstance(settings, Settings):
        settings = load_settings(settings)
    logs.configure(settings.log_level, settings.log_format)

    # verify/templates: what every person's page shares (page.html), for the pages of
    # verify/eam/ and verify/portal/, each in its blueprint's own folder.
    app = Flask(__name__, template_folder="verify/templates")
    app.request_class = FormRequest
    # werkzeug answers a path with "//" in it by an HTML redirect to the path without; an API
    # client (and Twilio's webhooks) should get the JSON 404 of a path that does not exist.
    app.url_map.merge_slashes = False  # before any route is added: each rule copies it
    # No Flask SECRET_KEY: telverify has no cookie sessions, and without one Flask skips
    # opening a signed session on every request.
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY)
    app.json.sort_keys = False
    app_core = _build_core(settings)
    app_core.install(app)
    try:
        persistence.check_at_start(app_core.redis, settings.require_redis_persistence,
                                   settings.redis_persistence_confirmed)
    except persistence.Shortfall as exc:
        raise ConfigError(f"telverify cannot start:\n  - {exc}") from exc
    try:
        app_core.adoption.run()
    except (redis.RedisError, RedisClusterException) as exc:
        log.warning("Redis unreachable at start (%s): what was stored before accounts is adopted on the first "
                    "API request", type(exc).__name__)
    app.wsgi_app = Observed(app.wsgi_app, trust_request_id=settings.trusted_proxies > 0)
    if settings.trusted_proxies:
        # request.remote_addr becomes the address the outermost trusted proxy saw; the
        # entries a client wrote to X-Forwarded-For itself are left of it and never read.
        # X-Forwarded-Host is not trusted: nothing reads the host (URLs come from
        # PUBLIC_BASE_URL), and a proxy that does not set it would pass a forged one on.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies)

    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(openapi.bp)  # GET /openapi.json, without credentials
    app.register_blueprint(sms.bp)
    app.register_blueprint(voice.bp)
    if settings.eam is not None:  # off: its paths answer 404 as any unknown path does
        app.register_blueprint(eam_views.bp)
    if settings.my is not None:
        # The people's pages in their browser's language (verify/portal/translations/).
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(portal_views.__file__).parents[1] / "translations")
        Babel(app, locale_selector=portal_views.language)
        app.register_blueprint(portal_views.bp)
    _register_health(app)
    _register_metrics(app)
    _register_error_handlers(app)
    return app


def _build_core(settings: Settings) -> Core:
    redis_client = connect(settings.redis_url, settings.redis_sentinel_password)
    # Every rate-limit window (verify/protection/windows.py).
    limiter = Limiter(settings.redis_url, sentinel_password=settings.redis_sentinel_password)
    # The process's threads that may wait on Twilio at once: every request to Twilio holds one.
    carrier = CarrierSlots(settings.twilio_threads_per_worker, settings.twilio_timeout_seconds)
    twilio_client = make_twilio_client(settings, carrier)
    channels = {"sms": sms.SmsChannel(twilio_client, settings)}
    if settings.twilio_from_number:
        channels["call"] = voice.CallChannel(twilio_client, settings)
        channels["call_approve"] = voice.ApproveCallChannel(twilio_client, settings)
    else:
        log.warning("calls are disabled: they need TWILIO_FROM_NUMBER (a messaging service cannot call)")
    tags = NumberTags(settings.secret_key)
    store, admin_store = Store(redis_client, tags), AdminStore(redis_client)
    services = Services(ServiceStore(redis_client, tags), admin_store, settings.first_account_sid)
    verifications = Verifications(store, services, CodeBook(settings.secret_key), channels,
                                  Admission(limiter, admin_store, settings), lockout_arguments(settings), carrier)
    lockouts = Lockouts(LockoutStore(redis_client, tags), services)
    seeds = Keyring(settings.secret_key, settings.secret_key_previous, b"totp seed")
    method_store = MethodStore(redis_client)
    audit = AuditLog(AuditStore(redis_client), tags, settings.audit_retention_days)
    methods = Methods.build(method_store, services, seeds, verifications)
    # An approve call decided for a phone challenge settles it at once, not at the next poll.
    verifications.on_challenge_decided = methods.challenges.settle_from_verification
    return Core(settings=settings, redis=redis_client, services=services, verifications=verifications,
                rate_limits=RateLimits(admin_store, services), safe_list=SafeList(admin_store), limiter=limiter,
                auth_guard=AuthGuard(limiter, settings), channels=channels,
                adoption=Adoption(redis_client, settings.first_account_sid), lockouts=lockouts,
                audit=audit, methods=methods,
                help_desk=HelpDesk(method_store, methods.entities, methods.factors, lockouts),
                backup=MethodBackup(BackupStore(redis_client), services, seeds, methods.factors.types),
                eam=build_eam(settings, redis_client, methods, channels) if settings.eam else None,
                portal=build_portal(settings, redis_client, limiter, methods, audit, channels) if settings.my else None)


def _register_health(app: Flask) -> None:
    @app.get("/healthz/live")
    def live():
        return jsonify(status="ok")

    @app.get("/healthz/ready")
    def ready():
        if shutdown.draining.is_set():
            return jsonify(status="draining"), 503
        core().check_store()
        return jsonify(status="ok")


def _register_metrics(app: Flask) -> None:
    @app.get("/metrics")
    def scrape():
        require_metrics_credentials()
        # Expiries this process had due, counted before it answers (verify/expiries.py).
        core().verifications.expiries.count_due(time.time())
        body, content_type = metrics.exposition()
        return body, 200, {"Content-Type": content_type}


def _error(code: int, message: str, status: int):
    return jsonify(VerifyError(code, message, status).to_dict()), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(VerifyError)
    def verify_error(exc: VerifyError):
        return jsonify(exc.to_dict()), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(exc.code, errors.INVALID_PARAMETER)
        return _error(code, f"{exc.name}: {exc.description}", exc.code or 400)

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(RedisClusterException)
    def redis_unavailable(exc):
        # Fail closed: without Redis nobody is approved, and the caller is told what is known.
        log.error("Redis unavailable: %s", type(exc).__name__)
        metrics.redis_error(type(exc).__name__)
        if request.method in ("GET", "HEAD"):  # reads change nothing
            return _error(errors.SERVICE_UNAVAILABLE, "telverify's store is unavailable; nothing was changed. "
                          "Try again shortly.", 503)
        # A change may have been applied whatever the error: after a timeout Redis may run the
        # script when it wakes; a connection that broke after the command went out raises the
        # same ConnectionError as one refused before anything was sent; and a start runs
        # several scripts, so the one that failed may follow one that was applied. The
        # exception's type cannot tell these from a Redis that was never reached.
        return _error(errors.SERVICE_UNAVAILABLE, "telverify could not confirm the change with its store; it may "
                      "have been applied. Fetch what you changed before retrying (a start may simply be sent "
                      "again: it re-sends a pending verification's code).", 503)

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error")
        return _error(errors.INTERNAL, "telverify failed unexpectedly; nothing was approved.", 500)


def __getattr__(name: str) -> Flask:
    """`app:app` for gunicorn, built from the environment on first use, so importing this
    module (tests, tools) never needs a configured environment."""
    if name != "app":
        raise AttributeError(name)
    try:
        application = create_app()
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        # EX_CONFIG; in a gunicorn worker, gunicorn's own "app failed to load" (4), the one status
        # on which its master stops instead of respawning a worker that cannot start.
        sys.exit(4 if "gunicorn.arbiter" in sys.modules else 78)
    globals()["app"] = application
    return application
