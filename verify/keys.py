"""The Redis key schema: every key telverify writes is named here and nowhere else.

Keys of one destination number in one service share a hash tag, `{VA...:h}`, where `h`
is a short digest of the number. The same `h` is embedded in each verification sid, so a
request that names only the sid finds the slot without a lookup, every Lua script touches
one slot, and the schema would run unchanged on Redis Cluster.
"""
from __future__ import annotations

import hashlib

PREFIX = "tv"
SERVICES_INDEX = f"{PREFIX}:services"
TAG_HEX = 8


def number_tag(to: str) -> str:
    return hashlib.sha256(to.encode()).hexdigest()[:TAG_HEX]


def tag_of_verification(verification_sid: str) -> str:
    return verification_sid[2:2 + TAG_HEX].lower()


def service(service_sid: str) -> str:
    return f"{PREFIX}:service:{service_sid}"


def slot_prefix(service_sid: str, tag: str) -> str:
    """Prefix of every key for one number of one service; Lua builds sibling keys from it."""
    return f"{PREFIX}:{{{service_sid}:{tag}}}:"


def verification(service_sid: str, verification_sid: str) -> str:
    return slot_prefix(service_sid, tag_of_verification(verification_sid)) + "ve:" + verification_sid


def latest(service_sid: str, to: str) -> str:
    """The sid of the newest verification for `to`: resends and checks by `To` start here."""
    return slot_prefix(service_sid, number_tag(to)) + "latest:" + to


def blocked(service_sid: str, to: str) -> str:
    """Present while `to` may not be called or texted for this service (a fraud report)."""
    return slot_prefix(service_sid, number_tag(to)) + "blocked:" + to
