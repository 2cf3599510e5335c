"""One-time codes: made with `secrets`, never stored or logged in clear.

Redis keeps, per verification, two things derived from the code:
- a salted digest, compared in the check script: sha1(salt .. HMAC(key, service:code)).
  Python computes the HMAC of the submitted code, so the script needs no secret and
  the check stays one round trip;
- the code sealed with AES-GCM, because Verify re-sends the *same* code while a
  verification is pending. Without SECRET_KEY neither reveals the code.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import invalid


def derive_key(secret_key: str, purpose: bytes) -> bytes:
    """A key of its own for each use of SECRET_KEY."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"telverify " + purpose).derive(
        secret_key.encode())


class CodeBook:
    def __init__(self, secret_key: str):
        self._mac_key = derive_key(secret_key, b"code digest")
        self._aead = AESGCM(derive_key(secret_key, b"code seal"))

    @staticmethod
    def generate(length: int) -> str:
        return "".join(secrets.choice("0123456789") for _ in range(length))

    def digest(self, service_sid: str, code: str) -> str:
        return hmac.new(self._mac_key, f"{service_sid}:{code}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def salted(salt: str, digest: str) -> str:
        """What the check script computes with redis.sha1hex; kept here to seed new verifications."""
        return hashlib.sha1((salt + digest).encode()).hexdigest()

    def seal(self, verification_sid: str, code: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, code.encode(), verification_sid.encode())
        return base64.b64encode(nonce + sealed).decode()

    def unseal(self, verification_sid: str, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], verification_sid.encode()).decode()


def validate_custom_code(code: str) -> str:
    if not re.fullmatch(r"[0-9]{4,10}", code or ""):
        raise invalid("Invalid parameter `CustomCode`: it must be 4 to 10 digits.")
    return code
