"""Builds the Flask app: shared context, auth for the Twilio API paths,
resource blueprints, and JSON errors everywhere.

To add a resource, write a module with a blueprint like messages.py and
append it to RESOURCE_BLUEPRINTS.
"""
from __future__ import annotations

import logging
import re

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from . import calls, control, messages, phone
from .callbacks import CallbackDispatcher
from .callee import CalleeBook
from .context import EXTENSION_KEY, StandInContext
from .errors import not_found, twilio_error, unauthorized
from .executor import CallExecutor
from .faults import FaultRegistry
from .state import Store
from .voicehooks import Webhooks

log = logging.getLogger("twilio_standin")

RESOURCE_BLUEPRINTS = [messages.bp, calls.bp]
_ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+?)(?:\.json)?(?:/|$)")


def create_standin_app(account_sid: str, auth_token: str, send_delay: float = 0.0,
                       callback_timeout: float = 10.0, time_scale: float = 1.0,
                       default_callee: str = "human", webhook_timeout: float = 15.0) -> Flask:
    """time_scale multiplies every simulated wait of a call (ringing, speech,
    Pause, Gather timeout, detection, key delays, TimeLimit); webhook_timeout
    is how long a TwiML request may take before it counts as failed."""
    app = Flask("twilio_standin")
    store = Store()
    callees = CalleeBook(default_callee)
    hooks = Webhooks(account_sid, auth_token, webhook_timeout=webhook_timeout,
                     callback_timeout=callback_timeout)
    ctx = StandInContext(
        account_sid=account_sid, auth_token=auth_token, store=store,
        faults=FaultRegistry(),
        dispatcher=CallbackDispatcher(store, auth_token, timeout=callback_timeout),
        callees=callees, calls=CallExecutor(store, callees, hooks, time_scale=time_scale),
        send_delay=float(send_delay))
    app.extensions[EXTENSION_KEY] = ctx

    @app.before_request
    def authenticate():
        # Same order as Twilio: credentials first, then whose account the path names.
        if not request.path.startswith("/2010-04-01/"):
            return None
        auth = request.authorization
        if (auth is None or auth.type != "basic" or auth.username != account_sid
                or auth.password != auth_token):
            return unauthorized()
        match = _ACCOUNT_PATH.match(request.path)
        if match is None or match.group(1) != account_sid:
            return not_found(request.path)
        return None

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 404:
            return not_found(request.path)
        if exc.code == 405:
            return twilio_error(405, 20004, "Method not allowed")
        return twilio_error(exc.code or 500, 20000 + (exc.code or 500), exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Safety net only: any 500 not injected on purpose is a stand-in bug.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return twilio_error(500, 20500, "Internal Server Error")

    for blueprint in RESOURCE_BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(control.bp)
    app.register_blueprint(phone.bp)  # the dev phone page and its live summary
    return app
