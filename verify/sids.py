"""Twilio-style sids: two letters and 32 hexadecimal characters."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from .codes import derive_key

ACCOUNT = "AC"
SERVICE = "VA"
VERIFICATION = "VE"
ATTEMPT = "VL"
RATE_LIMIT = "RK"
BUCKET = "BL"
SAFE_LIST = "GN"
ENTITY = "YE"
FACTOR = "YF"
CHALLENGE = "YC"
AUDIT_ENTRY = "AE"  # an admin action in the audit log (Twilio's prefix for a Monitor Event)

# A number's tag: a short keyed digest of it, which leads the hex part of each verification sid
# for that number and names the Redis slot of its keys (store/keys.py), so the sid alone locates
# the verification. Keyed with SECRET_KEY: an unkeyed digest of so few digits is turned back
# into the number in seconds, and sids appear in logs and URLs.
TAG_HEX = 8


class NumberTags:
    def __init__(self, secret_key: str):
        self._key = derive_key(secret_key, b"number tag")

    def __call__(self, to: str) -> str:
        return hmac.new(self._key, to.encode(), hashlib.sha256).hexdigest()[:TAG_HEX]


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def tag_of_verification(verification_sid: str) -> str:
    return verification_sid[2:2 + TAG_HEX].lower()


def new_verification_sid(tag: str) -> str:
    """A verification sid for the number whose tag is `tag`."""
    return VERIFICATION + tag + secrets.token_hex(16)[: 32 - TAG_HEX]


def record_name(verification_sid: str) -> str:
    """A verification's name in its number's key (store/keys.py): the digits after the tag, the
    rest being the same for every verification there."""
    return verification_sid[2 + TAG_HEX:]


def attempt_sid(verification_sid: str, index: int) -> str:
    """Send attempts are numbered within their verification; their sid is derived, not stored."""
    return ATTEMPT + verification_sid[2:32] + f"{index:02x}"


_HEX32 = re.compile(r"[0-9a-f]{32}")


def is_sid(value: str, prefix: str) -> bool:
    return (bool(value) and len(value) == len(prefix) + 32 and value.startswith(prefix)
            and _HEX32.fullmatch(value, len(prefix)) is not None)
