"""/admin/Accounts: the accounts API_CREDENTIALS configures (their credentials' ids, never a
secret), and any account's services."""
from __future__ import annotations

from flask import jsonify

from .. import errors
from ..accounts import accounts_of
from ..api import paging, render
from ..core import core
from . import bp
from .audited import acting_on


def _render(account_sid: str, key_ids: tuple[str, ...]) -> dict:
    base = f"Accounts/{account_sid}"
    return {
        "sid": account_sid,
        "credential_ids": list(key_ids),
        "url": render.resource_url(base, "admin"),
        "links": {
            "services": render.resource_url(f"{base}/Services", "admin"),
            "safe_list": render.resource_url(f"{base}/SafeList/Numbers", "admin"),
        },
    }


def _configured() -> dict[str, tuple[str, ...]]:
    return accounts_of(core().settings.api_credentials)


@bp.get("/Accounts")
def list_accounts():
    acting_on("accounts.list")
    wanted = paging.requested()
    rows = list(_configured().items())[wanted.offset:wanted.offset + wanted.size + 1]
    return jsonify(paging.answer("accounts", "Accounts", rows, lambda row: _render(*row), wanted, "admin"))


@bp.get("/Accounts/<account_sid>")
def fetch_account(account_sid):
    acting_on("accounts.fetch").account(account_sid)
    key_ids = _configured().get(account_sid)
    if key_ids is None:
        raise errors.not_found(f"The requested resource /Accounts/{account_sid} was not found: no credential in "
                               "API_CREDENTIALS belongs to it")
    return jsonify(_render(account_sid, key_ids))


@bp.get("/Accounts/<account_sid>/Services")
def list_services(account_sid):
    acting_on("services.list").account(account_sid)
    wanted = paging.requested()
    rows = core().services.list(account_sid, wanted.offset, wanted.size + 1)
    return jsonify(paging.answer("services", f"Accounts/{account_sid}/Services", rows, render.service, wanted,
                                 "admin"))
