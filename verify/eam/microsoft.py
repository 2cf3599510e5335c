"""Microsoft's signing keys, and the id_token_hint Entra sends checked with them.

Microsoft's discovery document (EAM_MICROSOFT_DISCOVERY_URL, the common v2.0 one) names its
JWKS and its issuer, `https://login.microsoftonline.com/{tenantid}/v2.0`, a template filled with
the hint's `tid`. Both are fetched with `requests` with a timeout and kept 24 hours (as Entra
keeps ours); a hint signed by a kid we do not hold fetches them once more, at most once a minute,
so that made-up kids cannot make us hammer Microsoft. A fetch that fails is `Unavailable`: the
person is answered `temporarily_unavailable`, never approved.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import requests
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

log = logging.getLogger("telverify.eam")

FETCH_TIMEOUT = 5  # s; Entra gives the whole sign-in 5 minutes
CACHE_SECONDS = 24 * 3600
REFRESH_AT_MOST_EVERY = 60  # s: an unknown kid fetches the keys again, at most this often
# Entra issues the hint already expired (its `exp` is in the past): its age is bounded by `iat`
# instead. Ten minutes covers Entra's own five-minute sign-in and clocks a little apart, and keeps
# a hint that leaked from opening sign-ins for long; each hint opens one sign-in anyway.
HINT_MAX_AGE = 10 * 60
CLOCK_SKEW = 5 * 60  # s a hint's `iat` may be ahead of our clock
HINT_MAX_LENGTH = 16 * 1024
RS256_ONLY = jws.JWSRegistry(algorithms=["RS256"])


class Unavailable(Exception):
    """Microsoft's discovery document or keys could not be fetched."""


class BadHint(Exception):
    """The id_token_hint is not one Entra signed for us, now. The message says why (for the log
    and the OIDC error_description), never the token."""


@dataclass(frozen=True)
class Hint:
    tid: str
    oid: str
    sub: str
    digest_source: str  # the hint's text: its SHA-256 marks it spent


class MicrosoftKeys:
    def __init__(self, discovery_url: str):
        self.discovery_url = discovery_url
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._issuer = ""
        self._fetched = 0.0  # monotonic

    def _fetch(self) -> None:
        try:
            discovery = requests.get(self.discovery_url, timeout=FETCH_TIMEOUT)
            discovery.raise_for_status()
            document = discovery.json()
            jwks = requests.get(document["jwks_uri"], timeout=FETCH_TIMEOUT)
            jwks.raise_for_status()
            keys = KeySet.import_key_set({"keys": [key for key in jwks.json()["keys"] if key.get("kty") == "RSA"]})
            issuer = document["issuer"]
        except (requests.RequestException, ValueError, KeyError, TypeError, JoseError) as exc:
            log.error("Microsoft's discovery document or keys could not be fetched from %s: %s",
                      self.discovery_url, type(exc).__name__)
            raise Unavailable(str(type(exc).__name__)) from None
        self._keys, self._issuer, self._fetched = keys, issuer, time.monotonic()

    def key_and_issuer(self, kid: str) -> tuple[RSAKey | None, str]:
        """The key named `kid` (None: Microsoft has none by that name) and the issuer template."""
        with self._lock:
            age = time.monotonic() - self._fetched
            if self._keys is None or age > CACHE_SECONDS:
                self._fetch()
            key = self._find(kid)
            if key is None and time.monotonic() - self._fetched > REFRESH_AT_MOST_EVERY:
                self._fetch()
                key = self._find(kid)
            return key, self._issuer

    def _find(self, kid: str) -> RSAKey | None:
        for key in self._keys.keys:
            if key.kid == kid and isinstance(key, RSAKey):
                return key
        return None

    def check_hint(self, hint: str, client_id: str, now: float) -> Hint:
        """The hint's person, once its signature (RS256, Microsoft's key), issuer (the tenant's),
        audience (`client_id`) and age are right; else BadHint. Unavailable when Microsoft's keys
        cannot be fetched."""
        if not hint or len(hint) > HINT_MAX_LENGTH:
            raise BadHint("id_token_hint is missing or too long")
        try:
            signed = jws.extract_compact(hint.encode())
            header = signed.protected
        except (JoseError, ValueError, TypeError):
            raise BadHint("id_token_hint is not a signed JWT") from None
        if header.get("alg") != "RS256":
            raise BadHint("id_token_hint must be signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise BadHint("id_token_hint names no key (kid)")
        key, issuer_template = self.key_and_issuer(kid)
        if key is None:
            raise BadHint("id_token_hint is signed by a key Microsoft does not publish")
        try:
            # The token parsed above, verified as it is: parsing it again (jwt.decode) would
            # cost the authorize request a sixth of its check.
            verified = jws.validate_compact(signed, key, registry=RS256_ONLY)
        except (JoseError, ValueError, TypeError):
            verified = False
        if not verified:
            raise BadHint("id_token_hint's signature is not Microsoft's")
        try:
            claims = json.loads(signed.payload)
        except ValueError:
            raise BadHint("id_token_hint's claims are not JSON") from None
        if not isinstance(claims, dict):
            raise BadHint("id_token_hint's claims are not JSON")
        return _judge(claims, issuer_template, client_id, now, hint)


def _judge(claims: dict, issuer_template: str, client_id: str, now: float, hint: str) -> Hint:
    tid, oid, sub = (claims.get(name) for name in ("tid", "oid", "sub"))
    if not all(isinstance(value, str) and value for value in (tid, oid, sub)):
        raise BadHint("id_token_hint lacks tid, oid or sub")
    if claims.get("iss") != issuer_template.replace("{tenantid}", tid):
        raise BadHint("id_token_hint was not issued by the tenant it names")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in [value.lower() for value in audiences if isinstance(value, str)]:
        raise BadHint("id_token_hint is not for this provider's client id")
    issued = claims.get("iat")
    if not isinstance(issued, (int, float)) or isinstance(issued, bool):
        raise BadHint("id_token_hint has no iat")
    if issued < now - HINT_MAX_AGE:
        raise BadHint("id_token_hint is too old")
    if issued > now + CLOCK_SKEW:
        raise BadHint("id_token_hint is issued in the future")
    return Hint(tid.lower(), oid, sub, hint)
