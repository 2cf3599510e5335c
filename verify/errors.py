"""Errors in Twilio's shape: {"code", "message", "more_info", "status"}.

Codes are Twilio's wherever Twilio has one for the situation, so applications written
against Verify keep their error handling when they switch to telverify.
"""
from __future__ import annotations

INVALID_PARAMETER = 60200
MAX_CHECKS = 60202
MAX_SENDS = 60203
LANDLINE = 60205
CHANNEL_DISABLED = 60223
DELIVERY_BLOCKED = 60605
FRAUD_GUARD = 60410
RATE_LIMITED = 20429
NOT_FOUND = 20404
AUTHENTICATE = 20003
METHOD_NOT_ALLOWED = 20004
SERVICE_UNAVAILABLE = 20503
INTERNAL = 20500


class VerifyError(Exception):
    def __init__(self, code: int, message: str, status: int = 400, headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}

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
