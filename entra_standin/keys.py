"""The stand-in's signing keys, published as Microsoft publishes its own: RSA 2048, each JWK with
`kid` and `x5t` (the base64url SHA-1 thumbprint of its certificate) and `x5c` (the certificate)."""
from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    """An RSA key with a self-signed certificate; `kid` is the certificate's thumbprint."""

    def __init__(self, common_name: str = "login.microsoftonline.com stand-in"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(private.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=365))
                       .sign(private, hashes.SHA256()))
        der = certificate.public_bytes(serialization.Encoding.DER)
        self.kid = b64url(hashlib.sha1(der).digest())  # noqa: S324 (a thumbprint, as Microsoft's x5t)
        self.certificate = base64.b64encode(der).decode()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        self.key = RSAKey.import_key(pem, {"kid": self.kid, "use": "sig"})
        self.public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self, issuer: str) -> dict:
        """The public key as an entry of Microsoft's JWKS."""
        public = self.key.as_dict(private=False)
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "n": public["n"],
                "e": public["e"], "x5c": [self.certificate], "issuer": issuer}
