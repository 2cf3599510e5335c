"""The `call` and `call_approve` channels: placing the call that the webhooks then run."""
from __future__ import annotations

from urllib.parse import urlencode

from verify.errors import VerifyError
from verify.phone import Destination

RING_SECONDS = 30  # long enough to reach a desk phone; voicemail usually answers later
TIME_LIMIT_SECONDS = 300  # no verification call needs longer; bounds the cost of any loop
# Detection gives up (AnsweredBy=unknown) after this; the code call then asks for a key press.
MACHINE_DETECTION_TIMEOUT = 10


def webhook_url(settings, route: str, verification_sid: str, service_sid: str, attempt: int, **extra) -> str:
    # Sids and the attempt number are URL-safe as they are (callers pass validated ones), and so
    # are the extras when they are plain words and numbers (step names, rounds): urlencode costs
    # ~8 us on every TwiML webhook, so only anything else goes through it.
    query = f"service={service_sid}&verification={verification_sid}&attempt={int(attempt)}"
    if extra:
        if all(str(value).isascii() and str(value).isalnum() for value in extra.values()):
            query += "".join(f"&{name}={value}" for name, value in extra.items())
        else:
            query += "&" + urlencode(extra)
    return f"{settings.signature_base_url}/voice/{route}?{query}"


class VoiceChannel:
    dials = True

    def __init__(self, twilio_client, settings):
        self.twilio = twilio_client
        self.settings = settings

    def refuse(self, destination: Destination, service: dict) -> VerifyError | None:
        return None  # landlines, mobiles and desk phones behind a switchboard can all take a call

    def send(self, verification, code: str, service: dict, attempt: int) -> str:
        def url(route: str) -> str:
            return webhook_url(self.settings, route, verification.sid, verification.service_sid, attempt)

        call = self.twilio.calls.create(
            to=verification.to,
            from_=self.settings.twilio_from_number,
            url=url("answer"), method="POST",
            status_callback=url("status"), status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            # Asynchronous detection: the call starts at once and says nothing secret until the
            # verdict; a machine's verdict hangs the call up (see webhooks.machine_detected).
            machine_detection="Enable", async_amd="true", async_amd_status_callback=url("amd"),
            async_amd_status_callback_method="POST", machine_detection_timeout=MACHINE_DETECTION_TIMEOUT,
            send_digits=verification.send_digits,
            timeout=RING_SECONDS, time_limit=TIME_LIMIT_SECONDS,
        )
        return call.sid


class CallChannel(VoiceChannel):
    """Verify's `call`: the call reads the code."""
    name = "call"
    delivers_code = True


class ApproveCallChannel(VoiceChannel):
    """telverify's `call_approve`: the person presses # to approve, or 0 to report fraud."""
    name = "call_approve"
    delivers_code = False
