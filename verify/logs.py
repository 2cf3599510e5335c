"""Log lines, and the request id each carries.

LOG_FORMAT chooses the form: `plain` (`time LEVEL logger [request id]: message`, for a terminal)
or `json` (one object per line: time, level, logger, request_id, message, and the exception's
traceback when there is one), for a log collector. gunicorn's access log takes the same form
(config/gunicorn.conf.py).

Every request has an id: the one a trusted proxy sent in X-Request-Id (with TRUSTED_PROXIES),
else a new one. It is answered in X-Request-Id, and written into every URL telverify gives
Twilio for a send (`rid`, covered by Twilio's signature), so the webhooks and delivery reports
of a verification log under the id of the API call that started it.

What is logged is masked where it is written (phone.mask); codes, secrets and tokens are never
logged.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import sys
import time

from flask import has_request_context, request

from .phone import mask_numbers

REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
ENVIRON_KEY = "telverify.request_id"  # the WSGI environ's: the request's id (verify/observed.py)
_RID_IN_QUERY = re.compile(r"(?:^|&)rid=([A-Za-z0-9-]{8,64})(?:&|$)")


def current_request_id() -> str | None:
    """The id of the request this thread serves; None outside a request."""
    return request.environ.get(ENVIRON_KEY) if has_request_context() else None


def request_id_of(environ: dict, trust_header: bool) -> str:
    """The request's id: a webhook's the `rid` its signed URL carries, a request through a
    trusted proxy its X-Request-Id, any other a new one."""
    if environ.get("PATH_INFO", "").startswith(("/voice/", "/sms/")):
        found = _RID_IN_QUERY.search(environ.get("QUERY_STRING", ""))
        if found:
            return found.group(1)
    if trust_header:
        given = environ.get("HTTP_X_REQUEST_ID")
        if given and REQUEST_ID.fullmatch(given):
            return given
    return _new_id()


# A new id is this process's random prefix and a count: unique across processes and restarts
# without a system call per request (secrets.token_hex reads the kernel's random source).
_prefix = secrets.token_hex(5)
_count = itertools.count(1)


def _new_prefix() -> None:
    global _prefix
    _prefix = secrets.token_hex(5)


os.register_at_fork(after_in_child=_new_prefix)  # each gunicorn worker its own


def _new_id() -> str:
    return f"{_prefix}{next(_count):06x}"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line. gunicorn's access records (their args a dict of gunicorn's
    atoms) become the request's fields, the path's numbers masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z", "level": record.levelname, "logger": record.name}
        atoms = record.args if record.name == "gunicorn.access" and isinstance(record.args, dict) else None
        if atoms is not None:
            entry.update(request_id=atoms.get("{x-request-id}o", "-"), remote=atoms.get("h"),
                         method=atoms.get("m"), path=mask_numbers(atoms.get("U", "")), status=atoms.get("s"),
                         bytes=atoms.get("B"), duration_ms=round(int(atoms.get("D", 0)) / 1000, 1),
                         user_agent=atoms.get("a"))
        else:
            entry.update(request_id=getattr(record, "request_id", None) or current_request_id() or "-",
                         message=record.getMessage())
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def handler(log_format: str) -> logging.Handler:
    """A handler to standard error in `log_format`, every record given its request id."""
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN))
    out.addFilter(_RequestIdFilter())
    return out


def configure(level: str, log_format: str) -> None:
    """The root logger's handler, in `log_format` at `level`, as logging.basicConfig does: once,
    where nothing has configured logging yet."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(handler(log_format))
        root.setLevel(level)
