"""/my/'s methods: an authenticator app or a phone added and proven, the default changed, one
deleted."""
from __future__ import annotations

from flask import jsonify, redirect, render_template, request
from flask_babel import gettext as _

from ..phones import CHANNELS, FieldRefusal, Proof, countries
from ..security_info import Refusal
from . import (
    KIND_TITLES,
    _changed,
    _info,
    _own_region,
    _person,
    _phones,
    _plain,
    _proven_now,
    _second_step_first,
    bp,
    language,
    said,
    security_info,
)


@bp.post("/methods/app")
def add_app():
    if asked := _second_step_first("/my/methods/add"):
        return asked
    try:
        app = _info().add_app(_person().identity)
    except Refusal as exc:
        return security_info(said(exc), 409)
    return render_template("my/app.html", app=app, message="")


@bp.post("/methods/<factor_sid>/verify")
def verify_app(factor_sid):
    try:
        if _info().verify_app(_person().identity, factor_sid, request.form.get("code", "")):
            return _proven_now("added")
        message = _("That code didn't work. Enter the code your app shows now.")
    except Refusal as exc:
        message = said(exc)
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
        return security_info(_("That method isn't one of yours any more. Here are the ones you have."), 404)
    return render_template("my/delete.html", method=method)


@bp.post("/methods/<factor_sid>/delete")
def delete(factor_sid):
    if asked := _second_step_first(f"/my/methods/{factor_sid}/delete", factor_sid):
        return asked
    return _changed(lambda: _info().delete(_person().identity, factor_sid), "deleted")


@bp.get("/methods/add")
def choose_method():
    if asked := _second_step_first("/my/methods/add"):
        return asked
    return render_template("my/add.html", kinds=KIND_TITLES)


@bp.route("/methods/phone/<kind>", methods=["GET", "POST"])
def add_phone(kind):
    if kind not in CHANNELS:
        return _plain(_("There's no such kind of phone. Go back to Security info and choose one."), 404)
    replaces = request.values.get("replaces", "")[:34]  # "Change": the proven phone this one replaces
    back = f"/my/methods/phone/{kind}" + (f"?replaces={replaces}" if replaces else "")
    if asked := _second_step_first(back, replaces):
        return asked
    form = {"country": _own_region() or "", "number": "", "extension": "", "channel": CHANNELS[kind][0]}
    if request.method == "GET":
        return _phone_form(kind, form, replaces)
    form.update({name: request.form.get(name, "")[:64] for name in form})
    try:
        proof = _phones().add(_person().identity, kind, form["country"], form["number"], form["extension"],
                              form["channel"], replaces)
    except FieldRefusal as exc:
        return _phone_form(kind, form, replaces, said(exc), exc.field, 400)
    except Refusal as exc:
        return _phone_form(kind, form, replaces, said(exc), "", 409)
    return _to_proof(proof)


def _phone_form(kind: str, form: dict, replaces: str = "", message: str = "", field: str = "", status: int = 200):
    return render_template("my/phone.html", kind=kind, title=KIND_TITLES[kind], form=form, replaces=replaces,
                           countries=countries(form["country"] or None, language()),
                           channels=CHANNELS[kind], message=message, field=field), status


def _to_proof(proof: Proof):
    return redirect(f"{request.script_root}/my/methods/{proof.factor_sid}/proof/{proof.challenge.sid}", 303)


@bp.post("/methods/<factor_sid>/proof")
def prove_again(factor_sid):
    try:
        return _to_proof(_phones().prove(_person().identity, factor_sid))
    except Refusal as exc:
        return security_info(said(exc), 409)


@bp.get("/methods/<factor_sid>/proof/<challenge_sid>")
def proof_page(factor_sid, challenge_sid, message: str = "", status: int = 200):
    try:
        proof = _phones().proof(_person().identity, factor_sid, challenge_sid)
    except Refusal as exc:
        return security_info(said(exc), 404)
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
        return security_info(said(exc), 404)
    if proof.challenge.status == "approved":
        return _proven_now("call")
    return redirect(f"{request.script_root}/my/methods/{factor_sid}/proof/{challenge_sid}", 303)


@bp.post("/methods/<factor_sid>/proof/<challenge_sid>/code")
def enter_code(factor_sid, challenge_sid):
    try:
        proof = _phones().recorded(_person().identity, _phones().enter_code(
            _person().identity, factor_sid, challenge_sid, request.form.get("code", "")))
    except FieldRefusal as exc:
        return proof_page(factor_sid, challenge_sid, said(exc), 400)
    except Refusal as exc:
        return security_info(said(exc), 404)
    if proof.challenge.status == "approved":
        return _proven_now("code")
    return proof_page(factor_sid, challenge_sid, _("That code didn't work. Check the text and try again."), 400)
