"""The keys telverify signs its id_tokens with: RSA 2048, each with a self-signed certificate for
the JWKS's `x5c`, sealed at rest under SECRET_KEY (purpose "eam signing key") and never answered.
A key sealed under SECRET_KEY_PREVIOUS is sealed again under SECRET_KEY when a process first opens
it, as an authenticator app's seed is when used.

The first request that needs a key makes the first one; of processes racing to, one script keeps
one key. A rollover (`python -m verify.eam.keys rollover`) publishes the next key at once, switches
signing to it after EAM_KEY_ROLLOVER_HOURS (Entra caches our JWKS for 24 hours) and drops the
retired key from the JWKS after as long again.
"""
from __future__ import annotations

import base64
import datetime
import logging
import re
import secrets
import sys
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import RSAKey

from ..sealing import Keyring
from ..store.eam import EamStore

log = logging.getLogger("telverify.eam")

PURPOSE = b"eam signing key"
KEY_BITS = 2048
CERTIFICATE_YEARS = 10  # Entra reads the key from the JWK; the certificate only carries it in x5c
KID_BYTES = 30  # 40 base64 characters, no padding


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: RSAKey
    certificate: str  # DER, base64
    signs_from: float
    dropped_at: float | None
    created: float | None  # None for a key stored before its making was kept

    def public_jwk(self) -> dict:
        jwk = self.key.as_dict(private=False)
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": jwk["n"], "e": jwk["e"],
                "x5c": [self.certificate]}


def new_kid() -> str:
    """A random kid in base64 that reads the same in both alphabets (no +, /, - or _): Entra
    requires a base64 kid, and so whichever alphabet a peer decodes it with, it decodes."""
    while True:
        kid = base64.b64encode(secrets.token_bytes(KID_BYTES)).decode()
        if re.fullmatch(r"[A-Za-z0-9]+", kid):
            return kid


def generate(common_name: str) -> tuple[str, bytes, str]:
    """(a kid, the private key as PEM, a self-signed certificate of it: DER in base64)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=365 * CERTIFICATE_YEARS))
                   .sign(private, hashes.SHA256()))
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    der = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    return new_kid(), pem, der


class SigningKeys:
    def __init__(self, store: EamStore, keyring: Keyring, issuer: str, rollover_seconds: int):
        self.store = store
        self.keyring = keyring
        self.issuer = issuer
        self.rollover_seconds = rollover_seconds
        self._opened: dict[tuple[str, str], RSAKey] = {}  # (kid, sealed) -> the key: opened once

    def published(self, now: float) -> list[SigningKey]:
        """The keys in the JWKS now, oldest signer first; the first made if there is none."""
        stored = self.store.signing_keys()
        if not stored:
            kid, pem, der = generate(self.issuer)
            if self.store.add_first_key(kid, self.keyring.seal(pem, kid), der, now):
                log.info("made the first Entra External MFA signing key, kid %s", kid)
            stored = self.store.signing_keys()
        found = []
        for kid, fields in stored.items():
            dropped = float(fields["dr"]) if fields["dr"] else None
            if dropped is not None and dropped <= now:
                continue
            created = float(fields["ca"]) if fields.get("ca") else None
            found.append(SigningKey(kid, self._open(kid, fields["k"]), fields["c"], float(fields["sf"]), dropped,
                                    created))
        return sorted(found, key=lambda key: key.signs_from)

    def _open(self, kid: str, sealed: str) -> RSAKey:
        key = self._opened.get((kid, sealed))
        if key is None:
            opened = self.keyring.open(sealed, kid)
            key = RSAKey.import_key(opened.plaintext)
            self._opened[(kid, sealed)] = key
            if opened.stale and self.store.reseal_key(kid, sealed, self.keyring.seal(opened.plaintext, kid)):
                # Sealed under SECRET_KEY_PREVIOUS: under SECRET_KEY from now on, so that the
                # previous secret can be dropped once every process has opened the keys.
                log.info("Entra External MFA signing key %s sealed again under the current SECRET_KEY", kid)
        return key

    def jwks(self, now: float | None = None) -> dict:
        return {"keys": [key.public_jwk() for key in self.published(time.time() if now is None else now)]}

    def current(self, now: float) -> SigningKey:
        """The key that signs now: the newest whose time has come."""
        keys = self.published(now)
        signing = [key for key in keys if key.signs_from <= now]
        return signing[-1] if signing else keys[0]

    def sign(self, claims: dict, now: float) -> str:
        key = self.current(now)
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key.key, algorithms=["RS256"])

    def roll_over(self, now: float) -> tuple[str, str, float]:
        """Publish the next key: ('published', its kid, when it signs from), or ('pending', the
        kid of a key published before that does not sign yet, when it does)."""
        self.published(now)  # a rollover before any key was made starts from the first
        kid, pem, der = generate(self.issuer)
        outcome, detail = self.store.roll_over(kid, self.keyring.seal(pem, kid), der, now, self.rollover_seconds)
        if outcome == "pending":
            waiting = self.store.signing_keys()[detail]
            return outcome, detail, float(waiting["sf"])
        log.info("published Entra External MFA signing key %s; it signs from %s", kid, detail)
        return outcome, kid, float(detail)


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat(timespec="seconds")


def main(argv: list[str]) -> int:
    """python -m verify.eam.keys rollover | list"""
    if argv not in (["rollover"], ["list"]):
        sys.stderr.write("usage: python -m verify.eam.keys rollover|list\n"
                         "  rollover  publish the next signing key now; it signs after EAM_KEY_ROLLOVER_HOURS\n"
                         "  list      the keys in the JWKS: kid, made, signs from, dropped at\n")
        return 64
    from app import create_app
    from verify.core import Core

    eam = Core.of(create_app()).eam
    if eam is None:
        sys.stderr.write("Entra External MFA is off: set EAM_CLIENT_ID and EAM_TENANTS\n")
        return 78
    now = time.time()
    if argv == ["rollover"]:
        outcome, kid, signs_from = eam.keys.roll_over(now)
        if outcome == "pending":
            print(f"not rolled over: key {kid} is published and starts signing at {_when(signs_from)}; roll over "
                  "after that")
            return 1
        print(f"published key {kid}; it signs from {_when(signs_from)}")
        return 0
    for key in eam.keys.published(now):
        print(key.kid, _when(key.created), _when(key.signs_from), _when(key.dropped_at))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
