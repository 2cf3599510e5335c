"""The `totp` factor type: an authenticator app's time-based codes (RFC 6238), with pyotp.

The seed is made with `secrets` (or given as `Binding.Secret`), answered once when the factor is
created, and kept sealed (verify/sealing.py) under SECRET_KEY, bound to the factor's sid. A code
is matched to the time-step counter it was made for, within ±skew steps of now; the factor keeps
the highest counter it ever accepted, and the store's scripts refuse a code whose counter is not
above it, so each code is accepted once.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pyotp
import segno

from ..sealing import Keyring

NAME = "totp"
ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
GENERATORS_KEPT = 10_000  # per process: the authenticator apps in use
SEED_BYTES = 20  # 160 bits, as RFC 4226 recommends; answered as 32 base32 characters
MIN_SECRET_BITS = 128  # RFC 4226's least for a shared secret


@dataclass(frozen=True)
class TotpConfig:
    time_step: int
    code_length: int
    skew: int
    alg: str

    @classmethod
    def of_service(cls, service: dict) -> TotpConfig:
        return cls(service["totp_time_step"], service["totp_code_length"], service["totp_skew"], "sha1")

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> TotpConfig:
        return cls(int(fields["ts"]), int(fields["cl"]), int(fields["sk"]), fields["al"])

    def changed(self, changes: dict) -> TotpConfig:
        """With the `time_step`, `code_length`, `skew` and `alg` of `changes` that are not None."""
        return TotpConfig(**{name: changes.get(name) if changes.get(name) is not None else getattr(self, name)
                             for name in ("time_step", "code_length", "skew", "alg")})

    def fields(self) -> dict[str, str]:
        return {"ts": str(self.time_step), "cl": str(self.code_length), "sk": str(self.skew), "al": self.alg}

    def render(self) -> dict:
        return {"alg": self.alg, "skew": self.skew, "code_length": self.code_length, "time_step": self.time_step}


def parse_secret(value: str) -> str | None:
    """A base32 secret (case and padding as anyone writes them) in canonical form; None when it is
    not base32 or too short to be safe."""
    canonical = re.sub(r"[\s=]", "", value).upper()
    if not re.fullmatch(r"[A-Z2-7]{1,256}", canonical) or len(canonical) * 5 < MIN_SECRET_BITS:
        return None
    try:
        base64.b32decode(canonical + "=" * (-len(canonical) % 8))
    except binascii.Error:
        return None
    return canonical


def uri(secret: str, config: TotpConfig, issuer: str, account: str) -> str:
    """The key URI an authenticator app reads (Google Authenticator's format), every parameter
    named as Verify names them."""
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": config.alg.upper(),
                       "digits": config.code_length, "period": config.time_step}, quote_via=quote)
    return f"otpauth://totp/{quote(issuer, safe='')}:{quote(account, safe='')}?{query}"


def qr_svg(key_uri: str) -> str:
    """A QR code of the key URI as an SVG image in a data: URI, ready for an <img src>."""
    buffer = io.BytesIO()
    segno.make(key_uri, error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


class _Totp(pyotp.TOTP):
    """pyotp's TOTP with its key set up once per seed, not again for each candidate counter:
    HMAC's keyed state (RFC 2104's inner and outer pads) is made from the decoded secret when the
    generator is, and copied for each counter, where pyotp decodes and keys anew for each code
    (twice the instructions of a code). The code is then RFC 4226's dynamic truncation, as
    pyotp's generate_otp makes it; tests/test_totp.py holds every length and algorithm to pyotp's
    codes. pyotp refuses codes of fewer than 6 digits (NIST's advice); Verify's Config.CodeLength
    allows 3 to 8, and codes are made here, for any length."""

    def __init__(self, secret: str, digits: int, digest, interval: int):
        super().__init__(secret, digits=max(digits, 6), digest=digest, interval=interval)
        self.digits = digits
        self._keyed = hmac.new(self.byte_secret(), digestmod=digest)  # never updated: threads share it

    def generate_otp(self, input: int) -> str:
        if input < 0:
            raise ValueError("input must be positive integer")
        mac = self._keyed.copy()
        mac.update(input.to_bytes(8, "big"))
        digest = mac.digest()
        offset = digest[-1] & 0xF
        code = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
        return str(code % 10 ** self.digits).zfill(self.digits)


def _generator(secret: str, config: TotpConfig) -> _Totp:
    return _Totp(secret, digits=config.code_length, digest=ALGORITHMS[config.alg], interval=config.time_step)


def matched_counter(secret: str | _Totp, config: TotpConfig, code: str, now: float) -> int:
    """The highest time-step counter within ±skew of `now` whose code `code` is; -1 for none.
    Candidates are tried from the newest down, each compared in constant time, and the first that
    matches is the answer: a code from the app's current step costs one code fewer than the whole
    window. A code that matches none, as a guess does, is compared with every candidate; which
    step a right code matched is nothing its sender does not know. `secret`: base32, or its
    generator, made for `config`."""
    totp = secret if isinstance(secret, _Totp) else _generator(secret, config)
    current = totp.timecode(now)
    given = code.encode()
    for counter in range(current + config.skew, max(current - config.skew, 0) - 1, -1):
        if hmac.compare_digest(totp.generate_otp(counter).encode(), given):
            return counter
    return -1


SEED_FIELDS = ("sv", "sd", "ts", "cl", "sk", "al")  # what a counter depends on in a factor's hash


def found_with(stored: dict) -> str:
    """What a counter depends on in a factor's hash, its sealed seed and its settings, as
    challenge_create.lua compares them."""
    return "|".join(stored.get(field, "") for field in SEED_FIELDS)


# A seed is kept as its raw bytes sealed (verify/sealing.py), in two fields: `sv`, the id of the
# key that sealed it, and `sd`, the rest. Then `sd` of a 20-byte seed is 64 characters, and the
# factor's hash stays in Redis's compact encoding (hash-max-listpack-value, 64 by default): a
# longer value turns the whole hash into a table, three times its size.
def seed_fields(sealed: str) -> dict[str, str]:
    key_id, _, body = sealed.partition(".")
    return {"sv": key_id, "sd": body}


def sealed_seed(stored: dict) -> str:
    """The seed as Keyring.open takes it, from a factor's hash."""
    return f"{stored.get('sv', '')}.{stored.get('sd', '')}"


def _raw(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


class TotpMethod:
    """What factors.py asks of a factor type: its stored fields, its answer, its codes."""

    name = NAME
    options = ("time_step", "code_length", "skew", "alg", "secret")
    takes_codes = True

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        # Code generators of seeds this process opened, by the sealed seed and the settings:
        # a challenge then neither opens the seed (AES-GCM) nor decodes it again. A sealed value
        # opens to one seed only, so an entry is never wrong; a seed sealed anew is a new entry.
        # Keyed by the factor's sid and its hash's SEED_FIELDS as stored: no settings parsed to
        # find a generator.
        self._generators: dict[tuple[str, ...], tuple[_Totp, TotpConfig]] = {}

    def new(self, factor_sid: str, service: dict, friendly_name: str, options: dict) -> tuple[dict, dict]:
        """(the factor's stored fields, its binding: answered once). `options`: time_step,
        code_length, skew, alg (None: the service's), secret (None: one is made)."""
        config = TotpConfig.of_service(service).changed(options)
        secret = options.get("secret") or base64.b32encode(secrets.token_bytes(SEED_BYTES)).decode()
        key_uri = uri(secret, config, service["totp_issuer"] or service["friendly_name"], friendly_name)
        fields = {**config.fields(), **seed_fields(self.keyring.seal(_raw(secret), factor_sid))}
        # telverify: `qr_svg`, the QR code of `uri`, answered with the secret and never again
        return fields, {"secret": secret, "uri": key_uri, "qr_svg": qr_svg(key_uri)}

    @staticmethod
    def changes(stored: dict, options: dict) -> dict[str, str]:
        return TotpConfig.from_fields(stored).changed(options).fields()

    @staticmethod
    def config(stored: dict) -> dict:
        return TotpConfig.from_fields(stored).render()

    def counter(self, factor_sid: str, stored: dict, code: str) -> tuple[int, dict[str, str] | None]:
        """(the counter `code` matched, -1 for none; the seed's fields sealed again under the
        current SECRET_KEY when it was sealed under the previous one, else None)."""
        known = (factor_sid, *[stored.get(field, "") for field in SEED_FIELDS])
        generator, config = self._generators.get(known) or (None, None)
        resealed = None
        if generator is None:
            config = TotpConfig.from_fields(stored)
            opened = self.keyring.open(sealed_seed(stored), factor_sid)
            generator = _generator(base64.b32encode(opened.plaintext).decode(), config)
            if opened.stale:  # sealed under SECRET_KEY_PREVIOUS: sealed again, and not kept as it was
                resealed = seed_fields(self.keyring.seal(opened.plaintext, factor_sid))
            else:
                if len(self._generators) >= GENERATORS_KEPT:
                    self._generators.clear()
                self._generators[known] = generator, config
        return matched_counter(generator, config, code, time.time()), resealed
