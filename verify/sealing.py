"""Secrets kept for a long time (an authenticator app's TOTP seed), sealed with AES-GCM under a
key derived from SECRET_KEY, so that Redis, its AOF and its backups never hold them in clear.

A sealed value names the key that sealed it: "<key id>.<base64 of nonce and ciphertext>", the
key id a short digest of the key. SECRET_KEY_PREVIOUS lets an operator rotate SECRET_KEY: values
sealed under the previous key still open, and `open` says so, for the caller to seal them again
under the current one (docs/configuration.md, "Rotating SECRET_KEY"). Each value is bound to
what it belongs to (`context`, e.g. a factor's sid): a sealed seed copied onto another factor
does not open.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .codes import derive_key

NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value no configured key opens: sealed under another SECRET_KEY, or altered."""


@dataclass(frozen=True)
class Opened:
    plaintext: bytes
    stale: bool  # sealed under SECRET_KEY_PREVIOUS: seal it again under the current key


class _Key:
    def __init__(self, secret_key: str, purpose: bytes):
        key = derive_key(secret_key, purpose)
        self.id = hashlib.sha256(b"telverify key id\0" + key).hexdigest()[:8]
        self.aead = AESGCM(key)


class Keyring:
    def __init__(self, secret_key: str, previous_key: str | None, purpose: bytes):
        self._current = _Key(secret_key, purpose)
        self._keys = {self._current.id: self._current}
        if previous_key:
            previous = _Key(previous_key, purpose)
            self._keys.setdefault(previous.id, previous)

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, plaintext, context.encode())
        return f"{self._current.id}.{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, context: str) -> Opened:
        key_id, _, body = sealed.partition(".")
        key = self._keys.get(key_id)
        if key is None:
            raise SealError(f"sealed under key {key_id!r}, which is neither SECRET_KEY's nor SECRET_KEY_PREVIOUS's")
        try:
            raw = base64.b64decode(body, validate=True)
            plaintext = key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (ValueError, InvalidTag) as exc:
            raise SealError(f"a value sealed under key {key_id!r} does not open: altered or moved") from exc
        return Opened(plaintext, stale=key is not self._current)

    @property
    def current_id(self) -> str:
        return self._current.id
