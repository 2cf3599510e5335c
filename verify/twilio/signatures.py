"""The one check every Twilio webhook passes: a valid X-Twilio-Signature, or 403 (sms/ and
voice/ run it before each of their views: verify.core.require_twilio_signature).

Signatures cover the URL Twilio called, so we rebuild it from PUBLIC_BASE_URL and the
path and query we received: behind a proxy, request.url is not what Twilio signed.
There is no bypass, not even for development: the local stand-in signs like Twilio.
"""
from __future__ import annotations

import hmac
import logging

from flask import jsonify, request
from twilio.request_validator import RequestValidator

from ..errors import AUTHENTICATE, VerifyError

log = logging.getLogger("telverify.webhooks")


def public_url(base: str) -> str:
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


class _SignedForm(dict):
    """The form as Twilio signs it: every value of each name. RequestValidator reads values
    through getall (else it tries two other methods first, each an exception per name)."""
    def getall(self, name: str) -> list[str]:
        return self[name]


def signed_by_twilio(auth_token: str, url: str, signature: str) -> bool:
    validator = RequestValidator(auth_token)
    form = _SignedForm(request.form.lists())
    # The URL exactly as we gave it to Twilio first: one HMAC for the usual request. Twilio
    # sometimes signs it with the default port added or removed, which validate() also tries.
    # As bytes: compare_digest refuses str with non-ASCII characters, and a header may hold any
    # (werkzeug decodes headers as latin-1).
    expected = validator.compute_signature(url, form).encode()
    return (hmac.compare_digest(expected, signature.encode("latin-1", "replace"))
            or validator.validate(url, form, signature))


def refusal(auth_token: str, base_url: str):
    """None when the request carries Twilio's signature for `base_url` + its path and query;
    else the 403 to answer with."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if signature and signed_by_twilio(auth_token, public_url(base_url), signature):
        return None
    log.warning("webhook %s refused: missing or invalid X-Twilio-Signature", request.path)
    error = VerifyError(AUTHENTICATE, "Invalid or missing X-Twilio-Signature for " + request.path, 403)
    return jsonify(error.to_dict()), 403
