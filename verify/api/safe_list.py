"""/v2/SafeList/Numbers: Verify's SafeList, the caller's account's (verify/safe_list.py). /admin reaches
every account's (verify/admin/safe_list.py) with the helpers below."""
from __future__ import annotations

from flask import jsonify, request

from .. import phone
from ..core import core
from ..errors import VerifyError, invalid
from ..store.admin import SafeListEntry
from . import bp, forms, render


def _as_phone_number(error: VerifyError) -> VerifyError:
    """phone.py words its errors for `To`; here the parameter is `PhoneNumber`."""
    return invalid(error.message.replace("`To`", "`PhoneNumber`"))


def requested_number() -> str:
    """The number a POST asks to add, as E.164."""
    values = forms.form({"PhoneNumber"})
    return _number_to_add(forms.text(values, "PhoneNumber", 64, required=True))


def _number_to_add(raw: str) -> str:
    try:
        destination = phone.parse(raw)
    except VerifyError as exc:
        raise _as_phone_number(exc) from None
    if destination.extension:
        raise invalid("Invalid parameter `PhoneNumber`: an E.164 number without an extension, "
                      "such as +15017122661.")
    return destination.e164


def number_to_find(raw: str) -> str:
    """A number named to look up, in a path or a filter ('+' may arrive as %2B, or as a space
    when it was not encoded), as E.164. A well-formed number that does not exist is simply not
    found."""
    try:
        return phone.normalize(raw)
    except VerifyError as exc:
        raise _as_phone_number(exc) from None


def entry_json(entry: SafeListEntry, path: str = "SafeList/Numbers", root: str = "v2") -> dict:
    return {
        "sid": entry.sid,
        "phone_number": entry.phone_number,
        "url": render.resource_url(f"{path}/{entry.phone_number}", root),
    }


@bp.post("/SafeList/Numbers")
def add_to_safe_list():
    return jsonify(entry_json(core().safe_list.add(request.account_sid, requested_number()))), 201


@bp.get("/SafeList/Numbers/<number>")
def fetch_safe_listed(number):
    return jsonify(entry_json(core().safe_list.get(request.account_sid, number_to_find(number))))


@bp.delete("/SafeList/Numbers/<number>")
def remove_from_safe_list(number):
    core().safe_list.remove(request.account_sid, number_to_find(number))
    return "", 204
