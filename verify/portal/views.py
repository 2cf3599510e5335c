"""/my/ over HTTP: sign in, Security info, add an authenticator app, change the default, delete.

Every page works without JavaScript. A session is a cookie (HttpOnly, SameSite=Strict, Secure
when PUBLIC_BASE_URL is https, scoped to /my/); every POST but the sign-in's carries the
session's CSRF token (sessions.py), and the sign-in's form a token of its own that its cookie
repeats (a double-submit), so that no other site can sign a browser in or change a method.
"""
from __future__ import annotations

import hmac
import logging
import secrets

import redis
from flask import Blueprint, g, jsonify, make_response, redirect, render_template, request
from redis.exceptions import RedisClusterException
from werkzeug.exceptions import HTTPException

from .. import pages
from ..core import core
from .organisation import FLOW_SECONDS, ProviderUnavailable
from .phones import CHANNELS, FieldRefusal, Phones, Proof, countries
from .second_step import SecondStep
from .security_info import TITLES, Refusal, SecurityInfo
from .sessions import Session, Sessions, SignInRefused

log = logging.getLogger("telverify.my")

bp = Blueprint("my", __name__, template_folder="templates", url_prefix="/my")
STORE_DOWN = (redis.RedisError, RedisClusterException)
SESSION_COOKIE = "my_session"
SIGNIN_COOKIE = "my_signin"
FLOW_COOKIE = "my_flow"  # binds a sign-in at the organisation's provider to this browser
SIGNED_OUT = ("my.sign_in", "my.organisation_sign_in", "my.organisation_callback")
KIND_TITLES = {kind: TITLES[kind] for kind in CHANNELS}


def _sessions() -> Sessions:
    return core().portal.sessions


def _info() -> SecurityInfo:
    return core().portal.security_info


@bp.before_request
def _before():
    pages.new_nonce()
    if request.endpoint in SIGNED_OUT:
        return None
    g.session = _sessions().get(request.cookies.get(SESSION_COOKIE, ""))
    if g.session is None:
        return redirect(f"{request.script_root}/my/signin", 303)
    if request.method == "POST" and not _sessions().csrf_valid(g.session, request.form.get("csrf", "")):
        log.warning("/my/: a form without its session's token refused")
        return _plain("This form has expired. Go back to Security info and try again.", 400)
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
    return _plain("We can't show your sign-in methods just now. Please try again in a few minutes.", 503)


def _plain(message: str, status: int):
    return render_template("my/plain.html", message=message), status


def _cookie(response, name: str, value: str, max_age: int | None, samesite: str = "Strict"):
    settings = core().settings.my
    response.set_cookie(name, value, max_age=max_age, path=f"{request.script_root}/my/", httponly=True,
                        samesite=samesite, secure=settings.secure_cookie)
    return response


# -- signing in and out ------------------------------------------------------------------------------

@bp.route("/signin", methods=["GET", "POST"])
def sign_in():
    message, status = "", 200
    if request.method == "POST":
        if not _signin_form_is_ours():
            message, status = "This form has expired. Please sign in again.", 400
        elif not core().settings.my.demo_people:
            message, status = "Sign in with your organisation's account.", 400
        else:
            try:
                session = _sessions().sign_in(request.form.get("identity", ""), request.form.get("password", ""),
                                              request.remote_addr or "")
            except SignInRefused as exc:
                message, status = str(exc), 401
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
        return _plain("This service has no organisation sign-in.", 404)
    if not _signin_form_is_ours():
        return _signin_page("This form has expired. Please sign in again.", 400)
    if not _sessions().may_start_elsewhere(request.remote_addr or ""):
        return _signin_page("Too many sign-ins were started from here. Wait 15 minutes, then try again.", 429)
    try:
        url, browser = organisation.start()
    except ProviderUnavailable:
        return _signin_page("We can't reach your organisation's sign-in just now. Please try again in a few "
                            "minutes.", 503)
    # Lax: the provider sends the browser back with a top-level GET from its own site.
    return _cookie(redirect(url, 303), FLOW_COOKIE, browser, FLOW_SECONDS, samesite="Lax")


@bp.get("/signin/callback")
def organisation_callback():
    organisation = core().portal.organisation
    if organisation is None:
        return _plain("This service has no organisation sign-in.", 404)
    try:
        identity = organisation.finish(request.args.get("state", ""), request.args.get("code", ""),
                                       request.args.get("error", ""), request.cookies.get(FLOW_COOKIE, ""))
    except SignInRefused as exc:
        return _signin_page(str(exc), 401)
    except ProviderUnavailable:
        return _signin_page("We can't reach your organisation's sign-in just now. Please try again in a few "
                            "minutes.", 503)
    # A page of ours moves on to /my/: a navigation that began at the provider's site would not
    # carry the SameSite=Strict session cookie, one from this page does.
    return _signed_in(make_response(render_template("my/signed_in.html")), _sessions().open(identity))


@bp.post("/signout")
def sign_out():
    _sessions().sign_out(g.session)
    response = redirect(f"{request.script_root}/my/signin", 303)
    response.delete_cookie(SESSION_COOKIE, path=f"{request.script_root}/my/")
    return response


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
    methods = _info().methods_of(_person().identity)
    if not any(method.verified for method in methods):
        return render_template("my/setup.html", methods=methods, message=message), status
    return render_template("my/security_info.html", methods=methods, message=message,
                           done=request.args.get("done", "")), status


@bp.post("/methods/app")
def add_app():
    if asked := _second_step_first("/my/methods/add"):
        return asked
    try:
        app = _info().add_app(_person().identity)
    except Refusal as exc:
        return security_info(str(exc), 409)
    return render_template("my/app.html", app=app, message="")


@bp.post("/methods/<factor_sid>/verify")
def verify_app(factor_sid):
    try:
        if _info().verify_app(_person().identity, factor_sid, request.form.get("code", "")):
            return _proven_now("added")
        message = "That code didn't work. Enter the code your app shows now."
    except Refusal as exc:
        message = str(exc)
    return render_template("my/app.html", app=None, factor_sid=factor_sid, message=message), 400


@bp.post("/methods/<factor_sid>/default")
def set_default(factor_sid):
    if asked := _second_step_first("/my/", factor_sid):
        return asked
    return _changed(lambda: _info().set_default(_person().identity, factor_sid), "default")


@bp.get("/methods/<factor_sid>/delete")
def confirm_delete(factor_sid):
    if asked := _second_step_first(f"/my/methods/{factor_sid}/delete", factor_sid):
        return asked
    method = next((m for m in _info().methods_of(_person().identity) if m.factor_sid == factor_sid), None)
    if method is None:
        return security_info("That method isn't one of yours any more. Here are the ones you have.", 404)
    return render_template("my/delete.html", method=method)


@bp.post("/methods/<factor_sid>/delete")
def delete(factor_sid):
    if asked := _second_step_first(f"/my/methods/{factor_sid}/delete", factor_sid):
        return asked
    return _changed(lambda: _info().delete(_person().identity, factor_sid), "deleted")


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
        return security_info(str(exc), 409)
    return redirect(f"{request.script_root}/my/?done={done}", 303)


# -- phones -------------------------------------------------------------------------------------------

def _phones() -> Phones:
    return core().portal.phones


def _own_region() -> str | None:
    """The country the browser's languages name first (en-GB: GB), for the top of the list."""
    for language in request.accept_languages.values():
        _, _, region = language.replace("_", "-").partition("-")
        if len(region) == 2 and region.isalpha():
            return region.upper()
    return None


@bp.get("/methods/add")
def choose_method():
    if asked := _second_step_first("/my/methods/add"):
        return asked
    return render_template("my/add.html", kinds=KIND_TITLES)


@bp.route("/methods/phone/<kind>", methods=["GET", "POST"])
def add_phone(kind):
    if kind not in CHANNELS:
        return _plain("There's no such kind of phone. Go back to Security info and choose one.", 404)
    if asked := _second_step_first(f"/my/methods/phone/{kind}"):
        return asked
    form = {"country": _own_region() or "", "number": "", "extension": "", "channel": CHANNELS[kind][0]}
    if request.method == "GET":
        return _phone_form(kind, form)
    form.update({name: request.form.get(name, "")[:64] for name in form})
    try:
        proof = _phones().add(_person().identity, kind, form["country"], form["number"], form["extension"],
                              form["channel"])
    except FieldRefusal as exc:
        return _phone_form(kind, form, str(exc), exc.field, 400)
    except Refusal as exc:
        return _phone_form(kind, form, str(exc), "", 409)
    return _to_proof(proof)


def _phone_form(kind: str, form: dict, message: str = "", field: str = "", status: int = 200):
    return render_template("my/phone.html", kind=kind, title=KIND_TITLES[kind], form=form,
                           countries=countries(form["country"] or None), channels=CHANNELS[kind],
                           message=message, field=field), status


def _to_proof(proof: Proof):
    return redirect(f"{request.script_root}/my/methods/{proof.factor_sid}/proof/{proof.challenge.sid}", 303)


@bp.post("/methods/<factor_sid>/proof")
def prove_again(factor_sid):
    try:
        return _to_proof(_phones().prove(_person().identity, factor_sid))
    except Refusal as exc:
        return security_info(str(exc), 409)


@bp.get("/methods/<factor_sid>/proof/<challenge_sid>")
def proof_page(factor_sid, challenge_sid, message: str = "", status: int = 200):
    try:
        proof = _phones().proof(_person().identity, factor_sid, challenge_sid)
    except Refusal as exc:
        return security_info(str(exc), 404)
    base = f"{request.script_root}/my/methods/{factor_sid}/proof/{challenge_sid}"
    return render_template("my/proof.html", proof=proof, title=KIND_TITLES[proof.kind], message=message, base=base,
                           again=f"{request.script_root}/my/methods/{factor_sid}/proof"), status


@bp.get("/methods/<factor_sid>/proof/<challenge_sid>/status")
def proof_status(factor_sid, challenge_sid):
    """{"status": pending | approved | denied | expired | canceled | gone}: what the calling page's
    script polls; anything but pending makes it submit the page's Check form."""
    try:
        return jsonify(status=_phones().proof(_person().identity, factor_sid, challenge_sid).challenge.status)
    except Refusal:
        return jsonify(status="gone")


@bp.post("/methods/<factor_sid>/proof/<challenge_sid>/check")
def check_proof(factor_sid, challenge_sid):
    try:
        proof = _phones().finish(_person().identity, factor_sid, challenge_sid)
    except Refusal as exc:
        return security_info(str(exc), 404)
    if proof.challenge.status == "approved":
        return _proven_now("call")
    return redirect(f"{request.script_root}/my/methods/{factor_sid}/proof/{challenge_sid}", 303)


@bp.post("/methods/<factor_sid>/proof/<challenge_sid>/code")
def enter_code(factor_sid, challenge_sid):
    try:
        proof = _phones().enter_code(_person().identity, factor_sid, challenge_sid, request.form.get("code", ""))
        if proof.challenge.status == "approved":
            proof = _phones().finish(_person().identity, factor_sid, challenge_sid)
    except FieldRefusal as exc:
        return proof_page(factor_sid, challenge_sid, str(exc), 400)
    except Refusal as exc:
        return security_info(str(exc), 404)
    if proof.challenge.status == "approved":
        return _proven_now("code")
    return proof_page(factor_sid, challenge_sid, "That code didn't work. Check the text and try again.", 400)


# -- a fresh second step --------------------------------------------------------------------------------

def _second_step() -> SecondStep:
    return core().portal.second_step


def _after_second_step():
    person = _person()
    _second_step().taken(person.identity)
    next_path = _sessions().second_step_taken(person)
    # Only a page of /my/ itself, as the gate stored it.
    if not (next_path.startswith("/my/") and "//" not in next_path and "\\" not in next_path):
        next_path = "/my/"
    return redirect(f"{request.script_root}{next_path}", 303)


@bp.get("/verify")
def second_step(message: str = "", status: int = 200):
    person = _person()
    options = _second_step().options(person.identity, person.target)
    if not options:
        return redirect(f"{request.script_root}/my/", 303)
    return render_template("my/verify.html", options=options, message=message), status


@bp.post("/verify")
def start_second_step():
    return _start_second_step(request.form.get("method", ""))


def _start_second_step(factor_sid: str):
    person = _person()
    try:
        proof = _second_step().start(person.identity, factor_sid, person.target)
    except Refusal as exc:
        return second_step(str(exc), 400)
    if proof is None:
        return render_template("my/verify_app.html", factor_sid=factor_sid, message="")
    return redirect(f"{request.script_root}/my/verify/{factor_sid}/{proof.challenge.sid}", 303)


@bp.post("/verify/<factor_sid>/code")
def second_step_app(factor_sid):
    person = _person()
    try:
        if _second_step().app_code(person.identity, factor_sid, request.form.get("code", ""), person.target):
            return _after_second_step()
        message = "That code didn't work. Enter the code your app shows now."
    except Refusal as exc:
        message = str(exc)
    return render_template("my/verify_app.html", factor_sid=factor_sid, message=message), 400


@bp.get("/verify/<factor_sid>/<challenge_sid>")
def second_step_proof(factor_sid, challenge_sid, message: str = "", status: int = 200):
    try:
        proof = _phones().proof(_person().identity, factor_sid, challenge_sid)
    except Refusal as exc:
        return second_step(str(exc), 404)
    return render_template("my/proof.html", proof=proof, title="Verify it's you", message=message,
                           base=f"{request.script_root}/my/verify/{factor_sid}/{challenge_sid}",
                           again=f"{request.script_root}/my/verify/{factor_sid}/again"), status


@bp.get("/verify/<factor_sid>/<challenge_sid>/status")
def second_step_status(factor_sid, challenge_sid):
    return proof_status(factor_sid, challenge_sid)


@bp.post("/verify/<factor_sid>/<challenge_sid>/check")
def second_step_check(factor_sid, challenge_sid):
    try:
        proof = _phones().proof(_person().identity, factor_sid, challenge_sid)
    except Refusal as exc:
        return second_step(str(exc), 404)
    if proof.challenge.status == "approved":
        return _after_second_step()
    return redirect(f"{request.script_root}/my/verify/{factor_sid}/{challenge_sid}", 303)


@bp.post("/verify/<factor_sid>/<challenge_sid>/code")
def second_step_code(factor_sid, challenge_sid):
    try:
        proof = _phones().enter_code(_person().identity, factor_sid, challenge_sid, request.form.get("code", ""))
    except FieldRefusal as exc:
        return second_step_proof(factor_sid, challenge_sid, str(exc), 400)
    except Refusal as exc:
        return second_step(str(exc), 404)
    if proof.challenge.status == "approved":
        return _after_second_step()
    return second_step_proof(factor_sid, challenge_sid, "That code didn't work. Check the text and try again.", 400)


@bp.post("/verify/<factor_sid>/again")
def second_step_again(factor_sid):
    return _start_second_step(factor_sid)
