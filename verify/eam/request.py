"""The authorize request Entra posts, read and judged without Flask.

First where an answer may go: `client_id` must be EAM_CLIENT_ID and `redirect_uri` one of the
allowed URIs, or there is no one to answer but the person (`Unanswerable`: a plain page, never a
redirect). After that every refusal is an OIDC error posted back to that redirect_uri with the
request's `state` (`Refused`). Parameters other than the protocol's are ignored, as Entra asks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

ACR = "possessionorinherence"  # the one acr value a phone or an authenticator app satisfies
MAX_PARAMETER = 4096  # characters: nonce, state, claims (the hint has its own bound)


class Unanswerable(Exception):
    """No valid redirect_uri is known: the person sees a plain page saying why."""


class Refused(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Answerable:
    """Where an answer goes: enough to post an error back."""
    redirect_uri: str
    state: str


@dataclass(frozen=True)
class AuthorizeRequest:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    id_token_hint: str
    acr: str
    amr: tuple[str, ...]  # the amr values Entra accepts; empty: it named none


def answerable(params, client_id: str, redirect_uris: tuple[str, ...]) -> Answerable:
    given = params.get("client_id") or ""
    if given.lower() != client_id:
        raise Unanswerable("This sign-in request is not for this service (its client_id is not the one configured "
                           "for Microsoft Entra External MFA).")
    redirect_uri = params.get("redirect_uri") or ""
    if redirect_uri not in redirect_uris:
        raise Unanswerable("This sign-in request names a return address (redirect_uri) this service does not "
                           "answer to.")
    state = params.get("state") or ""
    if len(state) > MAX_PARAMETER:
        raise Unanswerable("This sign-in request's state is too long.")
    return Answerable(redirect_uri, state)


def read(params, client_id: str, redirect_uris: tuple[str, ...]) -> AuthorizeRequest:
    """The request, judged; Unanswerable or Refused."""
    back = answerable(params, client_id, redirect_uris)
    if params.get("response_type") != "id_token":
        raise Refused("unsupported_response_type", "response_type must be id_token")
    if params.get("response_mode") != "form_post":
        raise Refused("invalid_request", "response_mode must be form_post")
    if "openid" not in (params.get("scope") or "").split():
        raise Refused("invalid_scope", "scope must include openid")
    nonce = params.get("nonce") or ""
    if not nonce or len(nonce) > MAX_PARAMETER:
        raise Refused("invalid_request", "nonce is required")
    if not params.get("id_token_hint"):
        raise Refused("invalid_request", "id_token_hint is required")
    acr, amr = _claims(params.get("claims"))
    return AuthorizeRequest(params.get("client_id"), back.redirect_uri, back.state, nonce,
                            params["id_token_hint"], acr, amr)


def _claims(raw: str | None) -> tuple[str, tuple[str, ...]]:
    """(the acr we answer, the amr values accepted) from the `claims` request."""
    if not raw:
        return ACR, ()
    try:
        claims = json.loads(raw) if len(raw) <= MAX_PARAMETER else None
        token = claims.get("id_token") or {}
        acr, amr = token.get("acr") or {}, token.get("amr") or {}
        acr_values = acr.get("values") or ([acr["value"]] if acr.get("value") else [])
        amr_values = amr.get("values") or ([amr["value"]] if amr.get("value") else [])
        if not all(isinstance(value, str) for value in [*acr_values, *amr_values]):
            raise TypeError
    except (ValueError, AttributeError, TypeError):
        raise Refused("invalid_request", "claims is not a valid claims request") from None
    if acr_values and ACR not in acr_values:
        raise Refused("access_denied", f"this provider satisfies acr {ACR} only")
    return ACR, tuple(amr_values)
