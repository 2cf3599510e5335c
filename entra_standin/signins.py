"""Entra's side of a sign-in through an External MFA provider: the authorize request it has the
browser POST to the provider (found through the provider's discovery document, as Entra finds
it), and the provider's answer checked and recorded."""
from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field

from . import validation
from .hints import Hints
from .ledger import Ledger, SignIn

ACR_VALUES = ("possessionorinherence",)
# The methods Entra asks an External MFA provider for, as its authorize requests list them.
AMR_VALUES = ("face", "fido", "fpt", "hwk", "iris", "otp", "pop", "retina", "sc", "sms", "swk", "tel", "vbm")


@dataclass(frozen=True)
class User:
    tid: str = "c0ffee00-0000-4000-8000-000000000001"
    oid: str = "c0ffee00-0000-4000-8000-0000000000a1"
    name: str = "Adele Vance"
    username: str = "adele@contoso.example"


@dataclass(frozen=True)
class Settings:
    """client_id: the provider's app registration; provider_discovery_url: the discovery URL the
    tenant's admin entered; base_url: where browsers reach the stand-in (None: the request's host)."""
    client_id: str
    provider_discovery_url: str
    user: User = field(default_factory=User)
    base_url: str | None = None
    require_https: bool = False


def claims_request() -> str:
    return json.dumps({"id_token": {"acr": {"essential": True, "values": list(ACR_VALUES)},
                                    "amr": {"essential": True, "values": list(AMR_VALUES)}}})


class SignIns:
    def __init__(self, settings: Settings, hints: Hints, ledger: Ledger):
        self.settings = settings
        self.hints = hints
        self.ledger = ledger

    def start(self, redirect_uri: str, tid: str, oid: str, name: str, username: str | None = None,
              kind: str = "valid", hint: str | None = None) -> tuple[str, dict]:
        """(the provider's authorization endpoint, the authorize form's fields) for a sign-in of the
        person `oid` of `tid` with a hint of `kind` (or `hint` itself, to send one again)."""
        endpoint = validation.discovery(self.settings.provider_discovery_url,
                                        self.settings.require_https)["authorization_endpoint"]
        hint = hint or self.hints.mint(kind, tid, oid, name=name, username=username)
        sign_in = SignIn(state=secrets.token_urlsafe(24), tid=tid, oid=oid, hint=hint, hint_kind=kind,
                         client_request_id=str(uuid.uuid4()),
                         expected=validation.Expected(self.settings.client_id, self.hints.sub(tid, oid),
                                                      secrets.token_urlsafe(24), ACR_VALUES, AMR_VALUES))
        self.ledger.open(sign_in)
        fields = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                  "client_id": self.settings.client_id, "redirect_uri": redirect_uri,
                  "nonce": sign_in.expected.nonce, "state": sign_in.state, "id_token_hint": hint,
                  "claims": claims_request(), "client-request-id": sign_in.client_request_id}
        return endpoint, fields

    def answer(self, form: dict) -> dict:
        """The outcome of the provider's form_post, recorded: signed_in, error or refused."""
        state = form.get("state", "")
        sign_in, why = self.ledger.take(state)
        result = {"state": state, "outcome": "refused", "reason": why, "amr": None, "acr": None,
                  "error": form.get("error"), "error_description": form.get("error_description"),
                  "id_token": form.get("id_token"), "tid": None, "oid": None, "hint_kind": None}
        if sign_in is None:
            return self.ledger.record(result)
        result.update(tid=sign_in.tid, oid=sign_in.oid, hint_kind=sign_in.hint_kind)
        if form.get("error"):
            result.update(outcome="error", reason="")
        elif form.get("id_token"):
            try:
                claims = validation.id_token(form["id_token"], self.settings.provider_discovery_url,
                                             sign_in.expected, self.settings.require_https)
            except validation.Refused as exc:
                result["reason"] = str(exc)
            else:
                result.update(outcome="signed_in", reason="", amr=claims["amr"][0], acr=claims["acr"],
                              claims=claims)
        else:
            result["reason"] = "the answer has neither id_token nor error"
        return self.ledger.record(result)
