"""Errors in Twilio's shape: {"code", "message", "more_info", "status"}.

Codes are Twilio's wherever Twilio has one for the situation, so applications written
against Verify keep their error handling when they switch to telverify.
"""
from __future__ import annotations

# Verify's
INVALID_PARAMETER = 60200
MAX_CHECKS = 60202  # too many wrong codes, on one verification or (a lockout) on one number
MAX_SENDS = 60203  # too many sends of one verification, or to one number
LANDLINE = 60205  # SMS to a fixed line
TOO_MANY_RATE_LIMITS = 60207  # per service
DUPLICATE_UNIQUE_NAME = 60208  # a rate limit's UniqueName, within its service
TOO_MANY_BUCKETS = 60210  # per rate limit
DUPLICATE_INTERVAL = 60211  # a bucket's Interval, within its rate limit
CHANNEL_DISABLED = 60223
FRAUD_GUARD = 60410  # a surge to one range of numbers (SMS pumping)
ALREADY_LISTED = 60411  # the number is in the SafeList already
ENTITY_EXISTS = 60301  # an Entity's Identity, within its service (409)
FACTOR_EXISTS = 60317  # a second phone factor of one kind on an entity (409)
CHALLENGE_MAX_ATTEMPTS = 60308  # a challenge took its 5 codes (429)
FACTOR_MAX_ATTEMPTS = 60310  # an unverified factor took its 5 wrong codes (429)
FACTOR_UNVERIFIED = 60318  # a challenge for a factor not verified yet (403)
DELIVERY_BLOCKED = 60605  # a country, number type or fraud block we never reach
# Twilio's platform-wide
AUTHENTICATE = 20003
METHOD_NOT_ALLOWED = 20004
NOT_FOUND = 20404
CONFLICT = 20409  # the resource is not in a state that allows the change yet
RATE_LIMITED = 20429
INTERNAL = 20500
SERVICE_UNAVAILABLE = 20503
# Twilio's Messaging: the recipient replied STOP to the sender
UNSUBSCRIBED = 21610


class VerifyError(Exception):
    def __init__(self, code: int, message: str, status: int = 400, headers: dict | None = None,
                 reason: str | None = None):
        """`reason`: abuse protection's, for the refusals it makes (verify/metrics.py counts them)."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}
        self.reason = reason

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def invalid(message: str) -> VerifyError:
    return VerifyError(INVALID_PARAMETER, message, 400)


def not_found(message: str) -> VerifyError:
    return VerifyError(NOT_FOUND, message, 404)


def unavailable(message: str) -> VerifyError:
    return VerifyError(SERVICE_UNAVAILABLE, message, 503)
