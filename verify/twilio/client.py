"""The one Twilio REST client of a process, and how Twilio's refusals read to our callers.

Every outbound request goes to TWILIO_API_BASE_URL, so the local stand-in, Prism or a
proxy can take Twilio's place. The redirect is done in the HTTP client, the way the
`twilio` library supports: setting a domain's base_url breaks under TWILIO_REGION/EDGE.
"""
from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit, urlunsplit

from requests.adapters import HTTPAdapter
from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .. import errors
from ..errors import VerifyError
from ..phone import mask_numbers
from .slots import CarrierSlots

# The library logs every request at INFO; our own log line per send is enough.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


# How long to ask a client to wait when Twilio's 429 says nothing: Twilio's concurrency limits
# free up as its requests in flight finish, within seconds.
DEFAULT_RETRY_AFTER = 5
LONGEST_RETRY_AFTER = 3600


class TwilioBusy(TwilioRestException):
    """Twilio's 429 (too many requests, 20429), with the seconds it asked us to wait."""

    def __init__(self, status: int, uri: str, msg: str, code: int, method: str, retry_after: int):
        super().__init__(status, uri, msg, code, method)
        self.retry_after = retry_after

    @classmethod
    def of(cls, method: str, uri: str, response) -> TwilioBusy:
        try:
            payload = json.loads(response.text)
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        return cls(response.status_code, uri, str(payload.get("message") or "Too Many Requests"),
                   payload.get("code") or errors.RATE_LIMITED, method,
                   _seconds(response.headers.get("Retry-After") if response.headers else None))


def _seconds(retry_after: str | None) -> int:
    """Retry-After's seconds, within reason; the default when it is missing or not seconds (an
    HTTP date, which Twilio does not send)."""
    text = (retry_after or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        return DEFAULT_RETRY_AFTER
    return min(max(int(text), 1), LONGEST_RETRY_AFTER)


class RedirectingHttpClient(TwilioHttpClient):
    """Sends each request to `base_url`, keeping the path and query Twilio's library built."""

    def __init__(self, base_url: str, timeout: float, pool_size: int = 64):
        super().__init__(timeout=timeout)
        target = urlsplit(base_url)
        self._scheme, self._netloc = target.scheme, target.netloc
        self._prefix = target.path.rstrip("/")
        # Many threads send at once; requests' default pool of 10 would drop connections.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # requests reads the proxy and CA-bundle variables (HTTPS_PROXY, NO_PROXY,
        # REQUESTS_CA_BUNDLE...) again on every request, walking all of os.environ, a sizeable
        # part of a create's CPU. Every request goes to base_url, so they are read once here,
        # with the rest of the configuration, for that URL.
        environment = self.session.merge_environment_settings(base_url, {}, None, None, None)
        self.session.proxies, self.session.verify = environment["proxies"], environment["verify"]
        self.session.trust_env = False

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


class TelverifyHttpClient(RedirectingHttpClient):
    """The HTTP client of telverify's own Twilio client: every request holds one of the
    process's carrier slots (slots.py) or raises NoCarrierSlot at once, and a 429 raises
    TwilioBusy. (The tests' `twilio` SDK, playing a relying application, keeps the library's
    plain exception.)"""

    def __init__(self, base_url: str, timeout: float, slots: CarrierSlots):
        super().__init__(base_url, timeout, pool_size=slots.size)  # never more requests at once than slots
        self.slots = slots

    def request(self, method, url, *args, **kwargs):
        with self.slots.slot():
            response = super().request(method, url, *args, **kwargs)
        if response.status_code == 429:
            # The library's exception would drop the answer's headers, and Retry-After with them.
            raise TwilioBusy.of(method, url, response)
        return response


def make_twilio_client(settings, slots: CarrierSlots) -> Client:
    http_client = TelverifyHttpClient(settings.twilio_api_base_url, settings.twilio_timeout_seconds, slots)
    return Client(
        username=settings.twilio_account_sid,
        password=settings.twilio_auth_token,
        account_sid=settings.twilio_account_sid,
        http_client=http_client,
    )


# Twilio's REST error code -> (our code, HTTP status, message template).
_REFUSALS = {
    21211: (errors.INVALID_PARAMETER, 400, "Invalid parameter `To`: Twilio says {to} is not a valid phone number."),
    21214: (errors.INVALID_PARAMETER, 400, "Invalid parameter `To`: {to} cannot be reached."),
    21217: (errors.INVALID_PARAMETER, 400, "Invalid parameter `To`: {to} is not a valid phone number."),
    21408: (errors.DELIVERY_BLOCKED, 403, "Twilio refused {to}: this account is not permitted to reach that country "
                        "(enable it in the account's Geo Permissions)."),
    21612: (errors.INVALID_PARAMETER, 400, "Twilio cannot route a message to {to} from the configured sender."),
    21610: (errors.UNSUBSCRIBED, 400, "The recipient {to} has replied STOP to this sender and must reply START "
                        "before they can receive codes by SMS."),
    21614: (errors.LANDLINE, 400, "SMS is not supported by landline phone number {to}; use Channel=call."),
    13224: (errors.INVALID_PARAMETER, 400, "Invalid parameter `To`: Twilio cannot call {to}."),
    13223: (errors.INVALID_PARAMETER, 400, "Invalid parameter `To`: {to} is not a valid phone number for a call."),
    21215: (errors.DELIVERY_BLOCKED, 403, "Twilio refused to call {to}: calls to that country are not permitted "
                                          "on this account (enable it in the account's Voice Geo Permissions)."),
    21216: (errors.DELIVERY_BLOCKED, 403, "Twilio blocked the call to {to} (a destination it considers high-risk)."),
    13227: (errors.DELIVERY_BLOCKED, 403, "Twilio refused to call {to}: calls to that country are not permitted "
                                          "on this account (enable it in the account's Geo Permissions)."),
}


class CarrierUnavailable(VerifyError):
    """Twilio timed out or failed on its side: nothing was decided, the caller may try again."""


def translate(exc: Exception, to: str) -> VerifyError | None:
    """Turn what the `twilio` library raised into the error our API answers with (None: not Twilio's)."""
    if isinstance(exc, TwilioBusy):
        seconds = str(exc.retry_after)
        return CarrierUnavailable(
            errors.RATE_LIMITED, f"Twilio is refusing requests for the moment: too many at once (Twilio "
            f"{exc.code}). Nothing was sent; try again in {seconds} seconds: the verification is still usable.",
            429, {"Retry-After": seconds})
    if isinstance(exc, TwilioRestException) and exc.status < 500:
        if exc.code in _REFUSALS:
            code, status, template = _REFUSALS[exc.code]
            return VerifyError(code, template.format(to=to), status)
        if exc.status in (401, 403) and exc.code in (errors.AUTHENTICATE, None):
            return CarrierUnavailable(
                errors.SERVICE_UNAVAILABLE, "telverify could not authenticate with Twilio; check TWILIO_ACCOUNT_SID "
                "and TWILIO_AUTH_TOKEN. Nothing was sent.", 503)
        # Twilio's own words may name the number ("The number +44... is unverified"), and they
        # are logged and answered: every number in them is masked.
        return VerifyError(exc.code or errors.INVALID_PARAMETER,
                           f"Twilio refused the request: {mask_numbers(exc.msg)}", 400)
    if isinstance(exc, (TwilioRestException, RequestException)):
        return CarrierUnavailable(
            errors.SERVICE_UNAVAILABLE, "Twilio did not answer in time or failed; nothing was sent. "
            "Try again: the verification is still usable.", 503)
    return None
