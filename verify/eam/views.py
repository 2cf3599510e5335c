"""Entra External MFA over HTTP: discovery, keys, the authorize endpoint and the person's pages.

No Flask session, no cookie, no Flask-WTF: the app keeps no SECRET_KEY in Flask, so no request
(/v2, /voice, /sms, /admin, /healthz, nor these) opens a session. Each page's forms carry the
sign-in's id, 256 random bits that reach the browser only in a page's body and come back only in
POST bodies (never in a URL, a log line or a Referer); it is the token a forged cross-site form
cannot know, so it stands for a CSRF token. Each form also carries `back`, where the answer goes
(redirect_uri and state, signed with a key derived from SECRET_KEY and lasting as long as the
sign-in), so that when Redis fails the person's browser can still be sent back to Entra with
`temporarily_unavailable` instead of stranded.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import time
from urllib.parse import urlsplit

import redis
from flask import Blueprint, g, jsonify, render_template, request
from itsdangerous import BadSignature, Signer
from redis.exceptions import RedisClusterException
from werkzeug.exceptions import HTTPException

from .. import pages
from ..codes import derive_key
from ..core import core
from ..errors import VerifyError
from . import request as authorize_request
from .microsoft import Unavailable
from .signins import Answer, Eam, Ended, Option, Outcome, SignIn, in_words

log = logging.getLogger("telverify.eam")

bp = Blueprint("eam", __name__, template_folder="templates")
STORE_DOWN = (redis.RedisError, RedisClusterException)


def _eam() -> Eam:
    return core().eam


def _back_signer() -> Signer:
    return _signer_for(core().settings.secret_key)


@functools.lru_cache(maxsize=4)
def _signer_for(secret_key: str) -> Signer:
    return Signer(derive_key(secret_key, b"eam return"), key_derivation="none", digest_method=hashlib.sha256)


def _back_token(redirect_uri: str, state: str, expires: float) -> str:
    """"<expiry> <redirect_uri> <state>", signed (HMAC-SHA256): a redirect_uri holds no space."""
    return _back_signer().sign(f"{int(expires)} {redirect_uri} {state}").decode()


def _back_from(token: str) -> Answer | None:
    """`temporarily_unavailable` for where a form's `back` says, when it is ours and current."""
    try:
        expires, redirect_uri, state = _back_signer().unsign(token).decode().split(" ", 2)
    except (BadSignature, UnicodeDecodeError, ValueError):
        return None
    if not expires.isdigit() or int(expires) < time.time() or redirect_uri not in _eam().settings.redirect_uris:
        return None
    return _unavailable(redirect_uri, state)


def _unavailable(redirect_uri: str, state: str) -> Answer:
    return Answer(redirect_uri, {"error": "temporarily_unavailable", "error_description":
                                 "the provider is unavailable for the moment", "state": state})


@bp.before_request
def _nonce():
    pages.new_nonce()


@bp.after_request
def _headers(response):
    # Pages and answers are the person's alone; an answer's page posts to Entra's redirect_uri.
    posts_to = g.get("eam_posts_to", "")
    return pages.protect(response, form_action="'self'" + (f" {posts_to}" if posts_to else ""))


@bp.errorhandler(Exception)  # the blueprint's handler comes before the app's JSON ones
def _failed(exc):
    """Redis down, a core refusal no step expects, or a fault: the person is sent back to Entra
    with `temporarily_unavailable` when the form says where, else told plainly; never approved."""
    if isinstance(exc, HTTPException):
        return exc  # a 404 or 405 is answered as on any other path
    if isinstance(exc, STORE_DOWN):
        log.error("Entra External MFA: Redis unavailable: %s", type(exc).__name__)
    elif isinstance(exc, VerifyError):
        log.error("Entra External MFA: unavailable: %s %s", exc.code, exc.message)
    else:
        log.exception("Entra External MFA: unexpected error")
    back = _back_from(request.form.get("back", "")) if request.method == "POST" else None
    if back is not None:
        return _post(back, "We can't finish your sign-in just now. Please try again in a few minutes.")
    return _plain("We can't finish your sign-in just now. Please go back and try again in a few minutes.", 503)


# -- discovery and keys ----------------------------------------------------------------------------

@bp.get("/.well-known/openid-configuration")
def discovery():
    response = jsonify(_eam().discovery())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/eam/jwks")
def jwks():
    response = jsonify(_eam().keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# -- the authorize endpoint ------------------------------------------------------------------------

@bp.route("/eam/authorize", methods=["GET", "POST"])
def authorize():
    params = request.form if request.method == "POST" else request.args
    eam = _eam()
    try:
        back = authorize_request.answerable(params, eam.settings.client_id, eam.settings.redirect_uris)
    except authorize_request.Unanswerable as exc:
        log.warning("Entra External MFA: an authorize request with nowhere to answer: %s", exc)
        return _plain(f"{exc} Nothing was sent anywhere. If you followed a link to get here, close this page.", 400)
    try:
        signin, options = eam.open(authorize_request.read(params, eam.settings.client_id, eam.settings.redirect_uris))
    except authorize_request.Refused as exc:
        return _post(Answer(back.redirect_uri, {"error": exc.error, "error_description": exc.description,
                                                "state": back.state}),
                     "This sign-in request could not be accepted.")
    except (Unavailable, *STORE_DOWN) as exc:
        log.error("Entra External MFA: cannot open a sign-in: %s", type(exc).__name__)
        return _post(_unavailable(back.redirect_uri, back.state),
                     "We can't check your sign-in just now. Please try again in a few minutes.")
    return _render(signin, Outcome("methods"), options)


# -- the person's pages ----------------------------------------------------------------------------

@bp.post("/eam/signin")
def step():
    """Every form of the person's pages: `signin`, `back`, and `action` (start with `method`,
    code with `code`, check, methods, cancel)."""
    eam = _eam()
    try:
        signin = eam.get(request.form.get("signin", ""))
        action = request.form.get("action", "")
        if action == "start":
            option = eam.option(signin, request.form.get("method", ""))
            outcome = eam.start(signin, option) if option else Outcome("methods", "Choose one of these methods.")
        elif action == "code":
            outcome = eam.submit_code(signin, request.form.get("code", ""))
        elif action == "check":
            outcome = eam.check(signin)
        elif action == "cancel":
            outcome = eam.refuse(signin, "access_denied", "the person cancelled", "You cancelled this sign-in.")
        else:
            outcome = Outcome("methods")
        return _render(signin, outcome)
    except Ended as exc:
        return _plain(str(exc), 410)


@bp.post("/eam/signin/status")
def status():
    """{"status": pending | approved | denied | expired | unanswered | none | ended}: what the
    calling page's script polls; anything but pending makes it submit the page's Check form."""
    eam = _eam()
    try:
        return jsonify(status=eam.status(eam.get(request.form.get("signin", ""))))
    except Ended:
        return jsonify(status="ended")


# -- rendering -------------------------------------------------------------------------------------

def _render(signin: SignIn, outcome: Outcome, options: list[Option] | None = None):
    """The page `outcome` names; the methods page offers `options`, when known already."""
    eam = _eam()
    if outcome.page == "answer":
        return _post(outcome.answer, outcome.message)
    back = _back_token(signin["ru"], signin["os"], float(signin["ex"]))
    if outcome.page == "methods":
        options = eam.options(signin) if options is None else options
        if not options:
            refused = eam.refuse(signin, "access_denied", "the person has no usable method",
                                 "There's no sign-in method set up for you here yet, so this sign-in can't "
                                 "continue. Ask your IT help desk to add your phone or authenticator app.")
            return _post(refused.answer, refused.message)
        return render_template("eam/methods.html", signin=signin, back=back, options=options,
                               message=outcome.message,
                               lifetime=in_words(eam.settings.signin_seconds))
    option = eam.option(signin, f"{signin['fa']}:{signin['ch']}")
    return render_template("eam/step.html", signin=signin, back=back, option=option, page=outcome.page,
                           message=outcome.message, retry_after=outcome.retry_after)


def _post(answer: Answer, message: str = ""):
    """The form_post answer: a page that posts `answer` to Entra by itself, with a button for a
    browser without JavaScript; an error waits a few seconds so the person can read why."""
    parts = urlsplit(answer.redirect_uri)
    g.eam_posts_to = f"{parts.scheme}://{parts.netloc}"
    return render_template("eam/post.html", answer=answer, message=message)


def _plain(message: str, status: int):
    return render_template("eam/plain.html", message=message), status
