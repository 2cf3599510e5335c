"""Flask's Request, reading the one kind of body and query telverify is sent more directly.

Every API call and every Twilio webhook is a form (application/x-www-form-urlencoded) with a
Content-Length, and the webhooks carry a short query. Counted with callgrind on a call
webhook, werkzeug's way to the form took 170,000 instructions of the request's 1.34 million:
its Content-Length and Content-Type properties walk the headers, the size limit is looked up
on the app through a context proxy, and parse_qsl does every step for every field. This reads
the body in one call and parses body and query as werkzeug does (parse_qsl(keep_blank_values=
True, errors="werkzeug.url_quote"), and an empty form for a body that is not UTF-8), doing a
field's decoding steps only where the field needs them; tests/test_form_request.py holds it to
werkzeug's result. Anything else (multipart, chunked, over MAX_BODY, already read) goes to
werkzeug as before.

A body without a Content-Length (chunked), which the server ends itself (gunicorn, werkzeug's
server), is read here up to MAX_BODY: werkzeug would stop reading at the limit and parse what
it had, a form silently cut short; here one byte more answers 413, as a Content-Length over
the limit does.
"""
from __future__ import annotations

from io import BytesIO
from urllib.parse import unquote

import flask
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.utils import cached_property

FORM = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024  # bytes; a Verify request or a Twilio webhook is a few hundred
ROUTE_KEY = "telverify.route"  # the environ's: the pattern of the route a request matched


def parse_form(text: str) -> list[tuple[str, str]]:
    """parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"), as werkzeug calls it."""
    items = []
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            items.append((_unquote(name), _unquote(value)))
    return items


def _unquote(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    # Bytes that are not UTF-8 stay percent-encoded (werkzeug's error handler), as in werkzeug.
    return unquote(text, errors="werkzeug.url_quote") if "%" in text else text


def _read_at_most(stream, limit: int) -> bytes:
    """Up to `limit` bytes of `stream`, fewer only at its end (a read may return less)."""
    parts, size = [], 0
    while size < limit:
        try:
            part = stream.read(limit - size)
        except (OSError, ValueError) as exc:  # the client went away mid-body, as werkzeug reads it
            raise ClientDisconnected() from exc
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


class FormRequest(flask.Request):
    # Flask reads this before the app's MAX_CONTENT_LENGTH: a class attribute costs no lookup of
    # the app through its context proxy, on every request.
    _max_content_length = MAX_BODY
    account_sid: str | None = None  # the account of the application asking (verify/api/auth.py)
    _url_rule = None

    @property
    def url_rule(self):
        return self._url_rule

    @url_rule.setter
    def url_rule(self, rule) -> None:
        # The matched route's pattern, left in the environ for verify/observed.py, which times
        # the request by it once Flask is done with the request.
        self._url_rule = rule
        self.environ[ROUTE_KEY] = rule.rule

    @cached_property
    def stream(self):
        environ = self.environ
        if (environ.get("CONTENT_LENGTH") or "HTTP_TRANSFER_ENCODING" not in environ
                or not environ.get("wsgi.input_terminated")):
            return super().stream
        limit = self._max_content_length  # MAX_BODY, or the limit a view set on this request
        body = _read_at_most(environ["wsgi.input"], limit + 1)
        if len(body) > limit:
            raise RequestEntityTooLarge()
        return BytesIO(body)

    @cached_property
    def args(self):
        # werkzeug decodes the raw query as UTF-8 and fails (a 500) on other bytes, which some
        # servers pass on (gunicorn refuses them itself); here they stay percent-encoded.
        raw = self.environ.get("QUERY_STRING", "").encode("latin-1", "replace")
        return self.parameter_storage_class(parse_form(raw.decode("utf-8", "werkzeug.url_quote")))

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        environ = self.environ
        length = environ.get("CONTENT_LENGTH", "")
        if (not (len(length) < 10 and length.isascii() and length.isdigit()) or int(length) > MAX_BODY
                or "HTTP_TRANSFER_ENCODING" in environ or getattr(self, "_cached_data", None) is not None
                or self._max_content_length != MAX_BODY  # a view set its own limit on this request
                or (environ.get("CONTENT_TYPE") != FORM and self.mimetype != FORM)):
            super()._load_form_data()  # werkzeug's own path, its 413 included
            return
        length = int(length)
        body = environ["wsgi.input"].read(length)
        if len(body) < length:  # the client went away mid-body: act on none of it, as werkzeug
            raise ClientDisconnected()
        try:
            items = parse_form(body.decode())
        except ValueError:  # werkzeug's parser is silent about a body that is not UTF-8
            items = []
        # As werkzeug leaves them: the stream read to its end, the form, and no files.
        self.__dict__.update(stream=BytesIO(), form=self.parameter_storage_class(items),
                             files=self.parameter_storage_class())
