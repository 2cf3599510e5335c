"""/v2/SafeList/Numbers: Verify's account-wide SafeList, numbers telverify's abuse protection
never blocks (a send reads the list with Store.sending_state; the API reads and writes it here)."""
from __future__ import annotations

import time

from flask import current_app, jsonify

from .. import admin, phone, sids
from ..admin import SafeListEntry
from ..errors import VerifyError, invalid, not_found
from . import bp, forms, render

ALREADY_LISTED = 60411  # Verify's "Phone Number already exists" (in the SafeList)


def _admin() -> admin.AdminStore:
    return admin.for_app(current_app)


def _as_phone_number(error: VerifyError) -> VerifyError:
    """phone.py words its errors for `To`; here the parameter is `PhoneNumber`."""
    return invalid(error.message.replace("`To`", "`PhoneNumber`"))


def _number_to_add(raw: str) -> str:
    try:
        destination = phone.parse(raw)
    except VerifyError as exc:
        raise _as_phone_number(exc) from None
    if destination.extension:
        raise invalid("Invalid parameter `PhoneNumber`: an E.164 number without an extension, "
                      "such as +15017122661.")
    return destination.e164


def _number_in_path(raw: str) -> str:
    """The number named in the path ('+' may arrive as %2B, or as a space when it was not
    encoded), as E.164. A well-formed number that does not exist is simply not listed."""
    try:
        return phone.normalize(raw)
    except VerifyError as exc:
        raise _as_phone_number(exc) from None


def entry_json(entry: SafeListEntry) -> dict:
    return {
        "sid": entry.sid,
        "phone_number": entry.phone_number,
        "url": render.resource_url(f"SafeList/Numbers/{entry.phone_number}"),
    }


def _not_listed(e164: str) -> VerifyError:
    return not_found(f"The requested resource /SafeList/Numbers/{phone.mask(e164)} was not found: "
                     "the number is not in the SafeList")


@bp.post("/SafeList/Numbers")
def add_to_safe_list():
    values = forms.form({"PhoneNumber"})
    e164 = _number_to_add(forms.text(values, "PhoneNumber", 64, required=True))
    entry = _admin().add_to_safe_list(e164, sids.new_sid(sids.SAFE_LIST), time.time())
    if entry is None:
        raise VerifyError(ALREADY_LISTED, f"Phone Number already exists: {phone.mask(e164)} is already "
                          "in the SafeList.")
    return jsonify(entry_json(entry)), 201


@bp.get("/SafeList/Numbers/<number>")
def fetch_safe_listed(number):
    e164 = _number_in_path(number)
    entry = _admin().safe_list_entry(e164)
    if entry is None:
        raise _not_listed(e164)
    return jsonify(entry_json(entry))


@bp.delete("/SafeList/Numbers/<number>")
def remove_from_safe_list(number):
    e164 = _number_in_path(number)
    if not _admin().remove_from_safe_list(e164):
        raise _not_listed(e164)
    return "", 204
