"""Each request named (verify/logs.py) and timed by its route (verify/metrics.py), by a WSGI
middleware around the app: a plain function over the WSGI environ costs a request a small
part of what two Flask hooks reaching `request` and `g` through their proxies do."""
from __future__ import annotations

import time

from . import logs, metrics
from .form_request import ROUTE_KEY


class Observed:
    def __init__(self, wsgi_app, trust_request_id: bool):
        self.wsgi_app = wsgi_app
        self.trust_request_id = trust_request_id  # X-Request-Id is a trusted proxy's (TRUSTED_PROXIES)

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = environ[logs.ENVIRON_KEY] = logs.request_id_of(environ, self.trust_request_id)
        status = []

        def start(line: str, headers: list, exc_info=None):
            status.append(line)
            headers.append(("X-Request-Id", request_id))
            return start_response(line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            # The route's pattern, never its path (which holds sids and numbers).
            metrics.answered(environ.get(ROUTE_KEY, "unmatched"), environ.get("REQUEST_METHOD", ""),
                             int(status[0][:3]) if status else 500, time.perf_counter() - started)
