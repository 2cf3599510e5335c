"""Twilio-style sids: two letters and 32 hexadecimal characters."""
from __future__ import annotations

import hashlib
import re
import secrets

SERVICE = "VA"
VERIFICATION = "VE"
ATTEMPT = "VL"
RATE_LIMIT = "RK"
BUCKET = "BL"
SAFE_LIST = "GN"

# A number's tag: a short digest of it, which leads the hex part of each verification sid for
# that number, and names the Redis slot of its keys (store/keys.py): the sid alone locates the
# verification.
TAG_HEX = 8


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def number_tag(to: str) -> str:
    return hashlib.sha256(to.encode()).hexdigest()[:TAG_HEX]


def tag_of_verification(verification_sid: str) -> str:
    return verification_sid[2:2 + TAG_HEX].lower()


def new_verification_sid(to: str) -> str:
    return VERIFICATION + number_tag(to) + secrets.token_hex(16)[: 32 - TAG_HEX]


def attempt_sid(verification_sid: str, index: int) -> str:
    """Send attempts are numbered within their verification; their sid is derived, not stored."""
    return ATTEMPT + verification_sid[2:32] + f"{index:02x}"


def is_sid(value: str, prefix: str) -> bool:
    return bool(re.fullmatch(prefix + r"[0-9a-f]{32}", value or ""))
