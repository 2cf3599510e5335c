"""/admin/Accounts/{sid}/SafeList/Numbers: any account's SafeList (verify/safe_list.py), listed
too, which /v2 does not offer; each entry as /v2 answers it, with its account and its date."""
from __future__ import annotations

from flask import jsonify

from ..api import paging, render
from ..api.safe_list import entry_json, number_to_find, requested_number
from ..core import core
from ..store.admin import SafeListEntry
from . import bp
from .audited import acting_on


def _path(account_sid: str) -> str:
    return f"Accounts/{account_sid}/SafeList/Numbers"


def _render(account_sid: str, entry: SafeListEntry) -> dict:
    return {**entry_json(entry, _path(account_sid), "admin"), "account_sid": account_sid,
            "date_created": render.iso(entry.date_created)}


@bp.get("/Accounts/<account_sid>/SafeList/Numbers")
def list_safe_list(account_sid):
    acting_on("safe_list.list").account(account_sid)
    wanted = paging.requested()
    rows = core().safe_list.list(account_sid, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("safe_list", _path(account_sid), rows, lambda row: _render(account_sid, row),
                                 wanted, "admin"))


@bp.post("/Accounts/<account_sid>/SafeList/Numbers")
def add_to_safe_list(account_sid):
    subject = acting_on("safe_list.add")
    subject.account(account_sid)
    e164 = subject.number(requested_number())
    return jsonify(_render(account_sid, core().safe_list.add(account_sid, e164))), 201


@bp.get("/Accounts/<account_sid>/SafeList/Numbers/<number>")
def fetch_safe_listed(account_sid, number):
    subject = acting_on("safe_list.fetch")
    subject.account(account_sid)
    return jsonify(_render(account_sid, core().safe_list.get(account_sid, subject.number(number_to_find(number)))))


@bp.delete("/Accounts/<account_sid>/SafeList/Numbers/<number>")
def remove_from_safe_list(account_sid, number):
    subject = acting_on("safe_list.remove")
    subject.account(account_sid)
    core().safe_list.remove(account_sid, subject.number(number_to_find(number)))
    return "", 204
