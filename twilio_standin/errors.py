"""Twilio's JSON error shape, shared by every resource module.

The twilio library turns any non-2xx answer into TwilioRestException using
`code` and `message` from this body (and `status` for the HTTP status), so the
shape must match exactly. It must NOT carry `type`+`title` (that switches the
library to its RFC 9457 TwilioServiceException).
"""
from __future__ import annotations

from flask import Response, jsonify


def twilio_error(status: int, code: int, message: str, retry_after: int | None = None,
                 **extra_headers: str) -> Response:
    response = jsonify({
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    })
    response.status_code = status
    for name, value in extra_headers.items():
        response.headers[name.replace("_", "-")] = value
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def unauthorized() -> Response:
    return twilio_error(401, 20003, "Authenticate",
                        WWW_Authenticate='Basic realm="Twilio API"')


def not_found(path: str) -> Response:
    return twilio_error(404, 20404, f"The requested resource {path} was not found")
