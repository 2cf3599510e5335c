"""id_token_hints as Entra sends them to an External MFA provider, and the spoiled ones a provider
must refuse. A hint is RS256, signed with the stand-in's published key, issued by the tenant's
v2.0 issuer for the provider's client id, and already expired when it is sent: Entra issues it so
that nothing else accepts it as a sign-in.

    hints.mint("valid", tid, oid)        # and any other of KINDS
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

from joserfc import jwt

from .keys import SigningKey, b64url

ISSUER = "https://login.microsoftonline.com/{tid}/v2.0"
# A tenant no provider lists: a well-signed hint from it must still be refused.
OTHER_TENANT = "0ddba11e-0000-4000-8000-000000000000"
OTHER_CLIENT_ID = "0ddba11e-0000-4000-8000-0000000c1d00"
KINDS = ("valid", "forged", "tampered", "wrong_audience", "wrong_issuer", "not_allowed_tenant",
         "alg_none", "hs256")


def issuer(tid: str) -> str:
    return ISSUER.format(tid=tid)


def _segment(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


class Hints:
    def __init__(self, client_id: str, signing: SigningKey):
        self.client_id = client_id
        self.signing = signing
        self.forger = SigningKey("forger")  # never published
        self._pairwise = secrets.token_bytes(32)

    def sub(self, tid: str, oid: str) -> str:
        """The person's pairwise subject for this client: random-looking, stable for the stand-in's life."""
        message = f"{self.client_id}|{tid}|{oid}".encode()
        return b64url(hmac.new(self._pairwise, message, hashlib.sha256).digest())

    def claims(self, tid: str, oid: str, name: str = "Test User", username: str | None = None) -> dict:
        now = int(time.time())
        return {"ver": "2.0", "iss": issuer(tid), "aud": self.client_id, "iat": now, "nbf": now,
                # Entra's documented hints expire a second before they are issued.
                "exp": now - 1, "tid": tid, "oid": oid, "sub": self.sub(tid, oid),
                "preferred_username": username or f"{oid[:8]}@contoso.example", "name": name,
                "uti": b64url(uuid.uuid4().bytes)}

    def sign(self, claims: dict, key: SigningKey | None = None) -> str:
        key = key or self.signing
        # The published kid even when another key signs: a forger copies the header.
        return jwt.encode({"alg": "RS256", "kid": self.signing.kid, "typ": "JWT"}, claims, key.key)

    def mint(self, kind: str, tid: str, oid: str, **person: str) -> str:
        """A hint of `kind` (one of KINDS) for the person `oid` of tenant `tid`."""
        claims = self.claims(tid, oid, **person)
        if kind == "valid":
            return self.sign(claims)
        if kind == "forged":
            return self.sign(claims, self.forger)
        if kind == "tampered":  # signed, then the payload changed: someone else's oid
            header, _, signature = self.sign(claims).split(".")
            return ".".join((header, _segment({**claims, "oid": str(uuid.uuid4())}), signature))
        if kind == "wrong_audience":
            return self.sign({**claims, "aud": OTHER_CLIENT_ID})
        if kind == "wrong_issuer":  # the tenant's claim kept, another tenant's issuer
            return self.sign({**claims, "iss": issuer(OTHER_TENANT)})
        if kind == "not_allowed_tenant":
            return self.sign({**claims, "tid": OTHER_TENANT, "iss": issuer(OTHER_TENANT)})
        if kind == "alg_none":
            return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."
        if kind == "hs256":  # the published public key used as an HMAC secret (algorithm confusion)
            signing_input = f"{_segment({'alg': 'HS256', 'kid': self.signing.kid, 'typ': 'JWT'})}.{_segment(claims)}"
            mac = hmac.new(self.signing.public_pem, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{b64url(mac)}"
        raise ValueError(f"unknown hint kind {kind!r}: one of {', '.join(KINDS)}")


def unverified_claims(token: str) -> dict:
    """The payload of a token, unverified: what the stand-in itself put in it."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
