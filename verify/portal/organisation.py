"""/my/'s first step through the organisation's OpenID Connect provider: the authorization code
flow with PKCE (S256), a `state` and a `nonce` of 256 bits each, the client authenticated with
its secret. Authlib's OAuth2Session builds the authorization URL and exchanges the code; the ID
token is checked with joserfc against the provider's published keys: its signature (RS256 or
ES256), issuer, audience (and `azp` when it names several), expiry and nonce.

A flow is kept in Redis from its start until the provider sends the person back, under the
digest of its `state`, and taken once. It is bound to the browser that started it by a cookie
whose digest the flow holds: a `state` carried to another browser (a forced sign-in into the
attacker's account) is refused.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..methods.entities import valid_identity
from ..store.portal import PortalStore
from .messages import N_
from .sessions import SignInRefused

if TYPE_CHECKING:
    from config import OidcSettings

log = logging.getLogger("telverify.my")

FLOW_SECONDS = 600  # a person has this long at their provider's sign-in page
CACHE_SECONDS = 24 * 3600  # the provider's discovery document and keys
REFRESH_AT_MOST_EVERY = 60  # s: an unknown key fetches the keys again, no more often
FETCH_TIMEOUT = 5
LEEWAY = 60  # s of clock difference allowed on exp and iat
ALGORITHMS = ["RS256", "ES256"]
REFUSED = N_("Your organisation's sign-in didn't complete. Please try again.")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ProviderUnavailable(Exception):
    """The provider's discovery document, keys or token endpoint cannot be reached."""


class Provider:
    """The provider's discovery document and keys, cached; fetched again for an unknown key."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self._lock = threading.Lock()
        self._document: dict | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def document(self) -> dict:
        with self._lock:
            if self._document is None or time.monotonic() - self._fetched > CACHE_SECONDS:
                self._fetch()
            return self._document

    def keys(self, kid: str | None) -> KeySet:
        with self._lock:
            if self._keys is None or time.monotonic() - self._fetched > CACHE_SECONDS or (
                    kid and not any(key.kid == kid for key in self._keys.keys)
                    and time.monotonic() - self._fetched > REFRESH_AT_MOST_EVERY):
                self._fetch()
            return self._keys

    def _fetch(self) -> None:
        try:
            answer = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=FETCH_TIMEOUT)
            answer.raise_for_status()
            document = answer.json()
            if document.get("issuer", "").rstrip("/") != self.issuer:
                raise ValueError("the discovery document names another issuer")
            jwks = requests.get(document["jwks_uri"], timeout=FETCH_TIMEOUT)
            jwks.raise_for_status()
            signing = [key for key in jwks.json()["keys"]
                       if key.get("kty") in ("RSA", "EC") and key.get("use", "sig") == "sig"]
            keys = KeySet.import_key_set({"keys": signing})
        except (requests.RequestException, ValueError, KeyError, TypeError, JoseError) as exc:
            log.error("/my/: the OpenID Connect provider %s cannot be read: %s", self.issuer, type(exc).__name__)
            raise ProviderUnavailable(type(exc).__name__) from None
        self._document, self._keys, self._fetched = document, keys, time.monotonic()


class OrganisationSignIn:
    def __init__(self, settings: OidcSettings, store: PortalStore, redirect_uri: str):
        self.settings = settings
        self.store = store
        self.redirect_uri = redirect_uri
        self.provider = Provider(settings.issuer)

    def _client(self) -> OAuth2Session:
        # `profile` too: Microsoft Entra ID puts a user's `oid` in an ID token only with it.
        return OAuth2Session(self.settings.client_id, self.settings.client_secret, scope="openid profile",
                             redirect_uri=self.redirect_uri, code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_basic", default_timeout=FETCH_TIMEOUT)

    def start(self) -> tuple[str, str]:
        """(the provider's authorization URL to send the browser to, the cookie that binds the
        flow to this browser)."""
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        verifier += secrets.token_urlsafe(16)  # PKCE asks for 43 to 128 characters
        browser = secrets.token_urlsafe(32)
        url, _ = self._client().create_authorization_url(
            self.provider.document()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
        self.store.open_flow(_digest(state), {"n": nonce, "v": verifier, "b": _digest(browser)}, FLOW_SECONDS)
        return url, browser

    def finish(self, state: str, code: str, error: str, browser: str) -> str:
        """The person's identity, once the provider's answer is theirs and right; else
        SignInRefused in words for them (the reason logged)."""
        flow = self.store.take_flow(_digest(state)) if state and len(state) <= 128 else None
        if flow is None:
            raise self._refused("a state that is unknown, used or expired")
        if not hmac.compare_digest(flow["b"], _digest(browser or "")):
            raise self._refused("a state started in another browser")
        if error or not code:
            raise self._refused(f"the provider answered {error[:40] or 'no code'}")
        try:
            token = self._client().fetch_token(self.provider.document()["token_endpoint"], code=code,
                                               code_verifier=flow["v"], grant_type="authorization_code")
        except ProviderUnavailable:
            raise
        except Exception as exc:  # the provider refused the code, or could not be reached
            raise self._refused(f"the token endpoint failed: {type(exc).__name__}") from None
        claims = self._claims(str(token.get("id_token", "")), flow["n"])
        identity = claims.get(self.settings.identity_claim)
        if not isinstance(identity, str) or not valid_identity(identity):
            raise self._refused(f"the ID token's {self.settings.identity_claim} is not an Entity's identity")
        return identity

    def _claims(self, id_token: str, nonce: str) -> dict:
        try:
            header = jws.extract_compact(id_token.encode()).protected
        except (JoseError, ValueError, TypeError):
            raise self._refused("no ID token, or not a signed JWT") from None
        try:
            claims = jwt.decode(id_token, self.provider.keys(header.get("kid")), algorithms=ALGORITHMS).claims
        except (JoseError, ValueError, TypeError):
            raise self._refused("an ID token whose signature is not the provider's") from None
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss", "").rstrip("/") != self.settings.issuer:
            raise self._refused("an ID token of another issuer")
        if self.settings.client_id not in audiences or (len(audiences) > 1 and
                                                        claims.get("azp") != self.settings.client_id):
            raise self._refused("an ID token for another client")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now - LEEWAY:
            raise self._refused("an expired ID token")
        if not isinstance(claims.get("iat"), (int, float)) or claims["iat"] > now + LEEWAY:
            raise self._refused("an ID token issued in the future")
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise self._refused("an ID token for another sign-in (nonce)")
        return claims

    @staticmethod
    def _refused(reason: str) -> SignInRefused:
        log.warning("/my/: a sign-in through the organisation's provider refused: %s", reason)
        return SignInRefused(REFUSED)
