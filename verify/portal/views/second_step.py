"""/my/'s fresh second step: a method the person has, proven before a change (second_step.py)."""
from __future__ import annotations

from flask import redirect, render_template, request
from flask_babel import gettext as _

from ..phones import FieldRefusal
from ..security_info import Refusal
from . import _person, _phones, _second_step, _sessions, bp, said
from .methods import proof_status


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
        return second_step(said(exc), 400)
    if proof is None:
        return render_template("my/verify_app.html", factor_sid=factor_sid, message="")
    return redirect(f"{request.script_root}/my/verify/{factor_sid}/{proof.challenge.sid}", 303)


@bp.post("/verify/<factor_sid>/code")
def second_step_app(factor_sid):
    person = _person()
    try:
        if _second_step().app_code(person.identity, factor_sid, request.form.get("code", ""), person.target):
            return _after_second_step()
        message = _("That code didn't work. Enter the code your app shows now.")
    except Refusal as exc:
        message = said(exc)
    return render_template("my/verify_app.html", factor_sid=factor_sid, message=message), 400


@bp.get("/verify/<factor_sid>/<challenge_sid>")
def second_step_proof(factor_sid, challenge_sid, message: str = "", status: int = 200):
    try:
        proof = _phones().proof(_person().identity, factor_sid, challenge_sid)
    except Refusal as exc:
        return second_step(said(exc), 404)
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
        return second_step(said(exc), 404)
    if proof.challenge.status == "approved":
        return _after_second_step()
    return redirect(f"{request.script_root}/my/verify/{factor_sid}/{challenge_sid}", 303)


@bp.post("/verify/<factor_sid>/<challenge_sid>/code")
def second_step_code(factor_sid, challenge_sid):
    try:
        proof = _phones().enter_code(_person().identity, factor_sid, challenge_sid, request.form.get("code", ""))
    except FieldRefusal as exc:
        return second_step_proof(factor_sid, challenge_sid, said(exc), 400)
    except Refusal as exc:
        return second_step(said(exc), 404)
    if proof.challenge.status == "approved":
        return _after_second_step()
    return second_step_proof(factor_sid, challenge_sid, _("That code didn't work. Check the text and try again."), 400)


@bp.post("/verify/<factor_sid>/again")
def second_step_again(factor_sid):
    return _start_second_step(factor_sid)
