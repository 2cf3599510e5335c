"""Entra's checks of a provider's answer, as Microsoft documents them for External MFA: the
provider's discovery document (served with Content-Length; its issuer on the discovery's own
host), its JWKS (each key with `x5c`, a base64 `kid`), then the id_token: RS256 with that key,
`iss` the discovery's issuer, `aud` the client id, `sub` and `nonce` those of the request, a
sane `iat` and `exp`, `acr` one of the values asked for, `amr` exactly one of those asked for.

Every refusal raises Refused with a sentence naming what failed, which the result page shows."""
from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from cryptography import x509
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

CLOCK_SKEW = 300  # seconds either way, as Entra tolerates
LONGEST_TOKEN = 3600  # an answer valid longer than this is not one a provider should issue
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")


class Refused(Exception):
    """The answer fails one of Entra's checks."""


@dataclass(frozen=True)
class Expected:
    """What the authorize request asked for, which the answer must match."""
    client_id: str
    sub: str
    nonce: str
    acr_values: tuple[str, ...]
    amr_values: tuple[str, ...]


def _fetch(url: str, what: str, timeout: float) -> dict:
    try:
        answer = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise Refused(f"{what} at {url} did not answer ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise Refused(f"{what} at {url} answered {answer.status_code}")
    if "Content-Length" not in answer.headers:
        raise Refused(f"{what} at {url} has no Content-Length header")
    try:
        body = answer.json()
    except ValueError:
        raise Refused(f"{what} at {url} is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(f"{what} at {url} is not a JSON object")
    return body


def _is_base64(value) -> bool:
    if not isinstance(value, str) or not _BASE64.match(value):
        return False
    try:
        base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_") + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return True


def discovery(url: str, require_https: bool = False, timeout: float = 5.0) -> dict:
    """The provider's discovery document, once it passes Entra's checks."""
    document = _fetch(url, "the provider's discovery document", timeout)
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise Refused("the discovery document names no issuer")
    parts = urlsplit(issuer)
    if parts.query or parts.fragment:
        raise Refused(f"the issuer {issuer} has a query or a fragment")
    if parts.netloc != urlsplit(url).netloc:
        raise Refused(f"the issuer {issuer} is not on the discovery document's host")
    for name in ("authorization_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise Refused(f"the discovery document has no {name}")
    if require_https and not all(document[n].startswith("https://") for n in ("issuer", "jwks_uri")):
        raise Refused("the issuer and jwks_uri must be https")
    for name, needed in (("scopes_supported", "openid"), ("response_types_supported", "id_token"),
                         ("id_token_signing_alg_values_supported", "RS256")):
        if needed not in (document.get(name) or ()):
            raise Refused(f"the discovery document's {name} lacks {needed}")
    return document


def _header(token: str) -> dict:
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError, binascii.Error):
        raise Refused("the id_token is not a JWT") from None
    if not isinstance(header, dict):
        raise Refused("the id_token is not a JWT")
    return header


def _signing_key(jwks: dict, kid: str) -> RSAKey:
    for jwk in jwks.get("keys") or ():
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            break
    else:
        raise Refused(f"no key with kid {kid} in the provider's JWKS")
    if not jwk.get("x5c"):
        raise Refused(f"the key {kid} has no x5c")
    try:
        key = RSAKey.import_key(jwk)
        certificate = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
    except (JoseError, ValueError, TypeError, binascii.Error):
        raise Refused(f"the key {kid} or its x5c certificate does not parse") from None
    if certificate.public_key().public_numbers() != key.public_key.public_numbers():
        raise Refused(f"the key {kid}'s x5c certificate holds another key")
    return key


def id_token(token: str, discovery_url: str, expected: Expected, require_https: bool = False) -> dict:
    """The claims of the provider's id_token, once it passes every check."""
    document = discovery(discovery_url, require_https)
    header = _header(token)
    if header.get("alg") != "RS256":
        raise Refused(f"the id_token is signed with {header.get('alg')!r}, not RS256")
    if not _is_base64(header.get("kid")):
        raise Refused("the id_token's header has no base64 kid")
    jwks = _fetch(document["jwks_uri"], "the provider's JWKS", 5.0)
    if any(not _is_base64(k.get("kid")) for k in jwks.get("keys") or () if isinstance(k, dict)):
        raise Refused("a key in the provider's JWKS has no base64 kid")
    key = _signing_key(jwks, header["kid"])
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"]).claims
    except (JoseError, ValueError):
        raise Refused("the id_token's signature does not verify with the provider's key") from None
    now = time.time()
    checks = (
        (claims.get("iss") == document["issuer"], f"iss {claims.get('iss')!r} is not the issuer {document['issuer']}"),
        (claims.get("aud") in (expected.client_id, [expected.client_id]), f"aud {claims.get('aud')!r} is not the "
                                                                          f"client id {expected.client_id}"),
        (claims.get("sub") == expected.sub, "sub is not the hint's sub"),
        (claims.get("nonce") == expected.nonce, "nonce is not the request's"),
        (isinstance(claims.get("iat"), (int, float)) and now - LONGEST_TOKEN <= claims["iat"] <= now + CLOCK_SKEW,
         "iat is missing or not now"),
        (isinstance(claims.get("exp"), (int, float)) and now - CLOCK_SKEW < claims["exp"]
         <= now + LONGEST_TOKEN, "exp is missing, past or too far ahead"),
        (claims.get("acr") in expected.acr_values, f"acr {claims.get('acr')!r} is not one of those asked for"),
        (isinstance(claims.get("amr"), list) and len(claims["amr"]) == 1 and claims["amr"][0] in expected.amr_values,
         f"amr {claims.get('amr')!r} is not an array of exactly one of the values asked for"),
    )
    for passed, reason in checks:
        if not passed:
            raise Refused(reason)
    return claims
