"""/my/'s sign-in and sign-out: the demo directory's form, and the organisation's provider."""
from __future__ import annotations

import hmac
import secrets

from flask import g, make_response, redirect, render_template, request
from flask_babel import gettext as _

from ...core import core
from ..organisation import FLOW_SECONDS, ProviderUnavailable
from ..sessions import Session, SignInRefused
from . import SESSION_COOKIE, _cookie, _plain, _sessions, bp, said

SIGNIN_COOKIE = "my_signin"
FLOW_COOKIE = "my_flow"  # binds a sign-in at the organisation's provider to this browser


@bp.route("/signin", methods=["GET", "POST"])
def sign_in():
    message, status = "", 200
    if request.method == "POST":
        if not _signin_form_is_ours():
            message, status = _("This form has expired. Please sign in again."), 400
        elif not core().settings.my.demo_people:
            message, status = _("Sign in with your organisation's account."), 400
        else:
            try:
                session = _sessions().sign_in(request.form.get("identity", ""), request.form.get("password", ""),
                                              request.remote_addr or "")
            except SignInRefused as exc:
                message, status = said(exc), 401
            else:
                return _signed_in(redirect(f"{request.script_root}/my/", 303), session)
    return _signin_page(message, status)


def _signin_form_is_ours() -> bool:
    form_token, cookie_token = request.form.get("token", ""), request.cookies.get(SIGNIN_COOKIE, "")
    return bool(cookie_token) and hmac.compare_digest(form_token, cookie_token)


def _signin_page(message: str = "", status: int = 200):
    token = secrets.token_urlsafe(16)
    settings = core().settings.my
    response = make_response(render_template("my/signin.html", token=token, message=message,
                                             identity=request.form.get("identity", "")[:64],
                                             organisation=settings.oidc is not None,
                                             directory=bool(settings.demo_people)), status)
    return _cookie(response, SIGNIN_COOKIE, token, 3600)


def _signed_in(response, session: Session):
    response.delete_cookie(SIGNIN_COOKIE, path=f"{request.script_root}/my/")
    response.delete_cookie(FLOW_COOKIE, path=f"{request.script_root}/my/")
    return _cookie(response, SESSION_COOKIE, session.token, core().settings.my.session_seconds)


@bp.post("/signin/organisation")
def organisation_sign_in():
    organisation = core().portal.organisation
    if organisation is None:
        return _plain(_("This service has no organisation sign-in."), 404)
    if not _signin_form_is_ours():
        return _signin_page(_("This form has expired. Please sign in again."), 400)
    if not _sessions().may_start_elsewhere(request.remote_addr or ""):
        return _signin_page(_("Too many sign-ins were started from here. Wait 15 minutes, then try again."), 429)
    try:
        url, browser = organisation.start()
    except ProviderUnavailable:
        return _signin_page(_("We can't reach your organisation's sign-in just now. Please try again in a few "
                            "minutes."), 503)
    # Lax: the provider sends the browser back with a top-level GET from its own site.
    return _cookie(redirect(url, 303), FLOW_COOKIE, browser, FLOW_SECONDS, samesite="Lax")


@bp.get("/signin/callback")
def organisation_callback():
    organisation = core().portal.organisation
    if organisation is None:
        return _plain(_("This service has no organisation sign-in."), 404)
    try:
        identity = organisation.finish(request.args.get("state", ""), request.args.get("code", ""),
                                       request.args.get("error", ""), request.cookies.get(FLOW_COOKIE, ""))
    except SignInRefused as exc:
        return _signin_page(said(exc), 401)
    except ProviderUnavailable:
        return _signin_page(_("We can't reach your organisation's sign-in just now. Please try again in a few "
                            "minutes."), 503)
    # A page of ours moves on to /my/: a navigation that began at the provider's site would not
    # carry the SameSite=Strict session cookie, one from this page does.
    return _signed_in(make_response(render_template("my/signed_in.html")), _sessions().open(identity))


@bp.post("/signout")
def sign_out():
    _sessions().sign_out(g.session)
    response = redirect(f"{request.script_root}/my/signin", 303)
    response.delete_cookie(SESSION_COOKIE, path=f"{request.script_root}/my/")
    return response
