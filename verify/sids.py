"""Twilio-style sids: two letters and 32 hexadecimal characters."""
from __future__ import annotations

import re
import secrets

from .store import keys

SERVICE = "VA"
VERIFICATION = "VE"
ATTEMPT = "VL"
RATE_LIMIT = "RK"
BUCKET = "BL"
SAFE_LIST = "GN"


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def new_verification_sid(to: str) -> str:
    # The number's tag leads the hex part so the sid alone locates the verification's slot.
    return VERIFICATION + keys.number_tag(to) + secrets.token_hex(16)[: 32 - keys.TAG_HEX]


def attempt_sid(verification_sid: str, index: int) -> str:
    """Send attempts are numbered within their verification; their sid is derived, not stored."""
    return ATTEMPT + verification_sid[2:32] + f"{index:02x}"


def is_sid(value: str, prefix: str) -> bool:
    return bool(re.fullmatch(prefix + r"[0-9a-f]{32}", value or ""))
