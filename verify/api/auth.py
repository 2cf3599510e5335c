"""HTTP Basic authentication against API_CREDENTIALS, compared in constant time."""
from __future__ import annotations

import hmac

from flask import current_app, request

from ..errors import AUTHENTICATE, VerifyError


def require_api_credentials():
    credentials = current_app.config["TELVERIFY_SETTINGS"].api_credentials
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        expected = credentials.get(auth.username or "", "")
        # Compare even for unknown ids, so timing does not reveal which ids exist.
        if hmac.compare_digest((auth.password or "").encode(), expected.encode() or b"\0") and expected:
            return None
    raise VerifyError(AUTHENTICATE, "Authenticate: HTTP Basic credentials from API_CREDENTIALS are required.",
                      401, headers={"WWW-Authenticate": 'Basic realm="telverify"'})
