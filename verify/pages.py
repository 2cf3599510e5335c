"""What every page a person sees shares (verify/eam/'s and verify/portal/'s; their base template
is verify/templates/page.html): a nonce for its inline style and script, and the headers that
keep it the person's alone."""
from __future__ import annotations

import secrets

from flask import g


def new_nonce() -> None:
    """A fresh nonce for this request's page (page.html's <style>, and any <script>)."""
    g.page_nonce = secrets.token_urlsafe(16)


def protect(response, *, form_action: str = "'self'", images: str = ""):
    """Never cached, framed or referred from; nothing loaded but the page's own nonce'd style and
    script, `images` (a CSP source list, e.g. "data:"), and requests back to us."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype == "text/html":
        nonce = g.get("page_nonce", "")
        policy = ["default-src 'none'", f"script-src 'nonce-{nonce}'", f"style-src 'nonce-{nonce}'",
                  "connect-src 'self'", f"form-action {form_action}", "frame-ancestors 'none'", "base-uri 'none'"]
        if images:
            policy.insert(3, f"img-src {images}")
        response.headers["Content-Security-Policy"] = "; ".join(policy)
    return response
