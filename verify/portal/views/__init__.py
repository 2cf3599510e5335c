"""/my/ over HTTP: the blueprint, what every page of it shares, and Security info itself.
`signin.py` signs people in and out; `methods.py` adds, proves, changes and deletes methods;
`second_step.py` takes a fresh second step before a change.

Every page works without JavaScript. A session is a cookie (HttpOnly, SameSite=Strict, Secure
when PUBLIC_BASE_URL is https, scoped to /my/); every POST but the sign-in's carries the
session's CSRF token (sessions.py), and the sign-in's form a token of its own that its cookie
repeats (a double-submit), so that no other site can sign a browser in or change a method.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import redis
from flask import Blueprint, g, redirect, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from redis.exceptions import RedisClusterException
from werkzeug.exceptions import HTTPException

from ... import pages
from ...core import core
from ..messages import LANGUAGES
from ..phones import CHANNELS, Phones, country_label
from ..second_step import SecondStep
from ..security_info import TITLES, Refusal, SecurityInfo
from ..sessions import Session, Sessions

log = logging.getLogger("telverify.my")

bp = Blueprint("my", __name__, template_folder="../templates", url_prefix="/my")
STORE_DOWN = (redis.RedisError, RedisClusterException)
SESSION_COOKIE = "my_session"
SIGNED_OUT = ("my.sign_in", "my.organisation_sign_in", "my.organisation_callback")
KIND_TITLES = {kind: TITLES[kind] for kind in CHANNELS}


def _sessions() -> Sessions:
    return core().portal.sessions


def _info() -> SecurityInfo:
    return core().portal.security_info


def language() -> str:
    """The language of the person's pages: the first of the browser's that the calls speak."""
    return request.accept_languages.best_match(LANGUAGES) or "en"


def said(exc: Exception) -> str:
    """A refusal in the person's language."""
    text, params = getattr(exc, "text", str(exc)), dict(getattr(exc, "params", {}))
    if "country" in params:
        params["country"] = country_label(params["country"], language())
    return _(text).format(**params) if params else _(text)


@bp.app_template_filter("detail")
def _detail(method) -> str:
    """A method's detail for its row: its number partly hidden, an app's name or when it was added."""
    if method.detail:
        return method.detail
    return _("added %(date)s", date=format_date(datetime.fromtimestamp(method.added, timezone.utc), "long"))


@bp.before_request
def _before():
    pages.new_nonce()
    g.page_lang = language()
    if request.endpoint in SIGNED_OUT:
        return None
    g.session = _sessions().get(request.cookies.get(SESSION_COOKIE, ""))
    if g.session is None:
        return redirect(f"{request.script_root}/my/signin", 303)
    if request.method == "POST" and not _sessions().csrf_valid(g.session, request.form.get("csrf", "")):
        log.warning("/my/: a form without its session's token refused")
        return _plain(_("This form has expired. Go back to Security info and try again."), 400)
    g.csrf = _sessions().csrf_token(g.session)
    return None


@bp.after_request
def _headers(response):
    # The person's own pages; the one image is the QR code, in a data: URI.
    return pages.protect(response, images="data:")


@bp.errorhandler(Exception)  # the blueprint's handler comes before the app's JSON ones
def _failed(exc):
    if isinstance(exc, HTTPException):
        return exc
    if isinstance(exc, STORE_DOWN):
        log.error("/my/: Redis unavailable: %s", type(exc).__name__)
    else:
        log.exception("/my/: unexpected error")
    return _plain(_("We can't show your sign-in methods just now. Please try again in a few minutes."), 503)


def _plain(message: str, status: int):
    return render_template("my/plain.html", message=message), status


def _cookie(response, name: str, value: str, max_age: int | None, samesite: str = "Strict"):
    settings = core().settings.my
    response.set_cookie(name, value, max_age=max_age, path=f"{request.script_root}/my/", httponly=True,
                        samesite=samesite, secure=settings.secure_cookie)
    return response


def _phones() -> Phones:
    return core().portal.phones


def _own_region() -> str | None:
    """The country the browser's languages name first (en-GB: GB), for the top of the list."""
    for language in request.accept_languages.values():
        _, _, region = language.replace("_", "-").partition("-")
        if len(region) == 2 and region.isalpha():
            return region.upper()
    return None


def _second_step() -> SecondStep:
    return core().portal.second_step


# -- Security info ----------------------------------------------------------------------------------

def _person() -> Session:
    return g.session


def _second_step_first(next_path: str, target: str = ""):
    """None when the person may change their methods now; else the way to a fresh second step,
    which comes back to `next_path` (a page of /my/, shown again to be confirmed)."""
    person = _person()
    if person.fresh or not core().portal.second_step.needed(person.identity):
        return None
    _sessions().ask_second_step(person, next_path, target)
    return redirect(f"{request.script_root}/my/verify", 303)


@bp.get("/")
def security_info(message: str = "", status: int = 200):
    mine = _info().methods_of(_person().identity)
    if not any(method.verified for method in mine):
        return render_template("my/setup.html", methods=mine, message=message), status
    return render_template("my/security_info.html", methods=mine, message=message,
                           done=request.args.get("done", "")), status


def _proven_now(done: str):
    """Security info after a new method was proven: proving it was a second step, which counts
    for the next changes as any other does (the person reached this page past the gate)."""
    _sessions().second_step_taken(_person())
    return redirect(f"{request.script_root}/my/?done={done}", 303)


def _changed(change, done: str):
    """Security info after a change: its note of what was `done`, or the refusal."""
    try:
        change()
    except Refusal as exc:
        return security_info(said(exc), 409)
    return redirect(f"{request.script_root}/my/?done={done}", 303)


from . import methods, second_step, signin  # noqa: E402,F401  (their routes, on `bp`)
