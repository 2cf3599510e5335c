"""The `call` and `call_approve` channels: placing the call that the webhooks then run."""
from __future__ import annotations

import logging

from verify.errors import VerifyError
from verify.phone import Destination
from verify.twilio.callbacks import AttemptRef, callback_url
from verify.twilio.slots import NoCarrierSlot

log = logging.getLogger("telverify.voice")

RING_SECONDS = 30  # long enough to reach a desk phone; voicemail usually answers later
TIME_LIMIT_SECONDS = 300  # no verification call needs longer; bounds the cost of any loop
# Detection gives up (AnsweredBy=unknown) after this; the code call then asks for a key press.
MACHINE_DETECTION_TIMEOUT = 10


def webhook_url(settings, route: str, ref: AttemptRef, **extra) -> str:
    """Where Twilio asks what a call of this attempt does next (`route`: answer, step, key...)."""
    return callback_url(settings.signature_base_url, f"/voice/{route}", ref, **extra)


class VoiceChannel:
    dials = True

    def __init__(self, twilio_client, settings):
        self.twilio = twilio_client
        self.settings = settings

    def refuse(self, destination: Destination, service: dict) -> VerifyError | None:
        return None  # landlines, mobiles and desk phones behind a switchboard can all take a call

    def send(self, verification, code: str, service: dict, attempt: int) -> str:
        ref = AttemptRef(verification.service_sid, verification.sid, attempt)

        def url(route: str) -> str:
            return webhook_url(self.settings, route, ref)

        call = self.twilio.calls.create(
            to=verification.to,
            from_=self.settings.twilio_from_number,
            url=url("answer"), method="POST",
            status_callback=url("status"), status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            # Asynchronous detection: the call starts at once and says nothing secret until the
            # verdict; a machine's verdict hangs the call up (webhooks.machine_detected).
            machine_detection="Enable", async_amd="true", async_amd_status_callback=url("amd"),
            async_amd_status_callback_method="POST", machine_detection_timeout=MACHINE_DETECTION_TIMEOUT,
            send_digits=verification.send_digits,
            timeout=RING_SECONDS, time_limit=TIME_LIMIT_SECONDS,
        )
        return call.sid

    def hang_up(self, call_sid: str) -> None:
        """End a call now (a machine answered). A call that has ended already is left as it is.

        With every carrier slot waiting on a slow Twilio, the webhook asking for this does not
        wait for one: the machine verdict is recorded already, so the call's next request for
        TwiML answers with a hang-up (webhooks._step), and until then it says nothing secret."""
        try:
            self.twilio.calls(call_sid).update(status="completed")
        except NoCarrierSlot:
            log.warning("call %s left to hang up at its next webhook: every Twilio slot is busy", call_sid)
        except Exception as exc:  # the call may have ended already; its next webhook hangs up anyway
            log.warning("could not hang up call %s: %s", call_sid, exc)


class CallChannel(VoiceChannel):
    """Verify's `call`: the call reads the code."""
    name = "call"
    delivers_code = True


class ApproveCallChannel(VoiceChannel):
    """telverify's `call_approve`: the person presses # to approve, or 0 to report fraud."""
    name = "call_approve"
    delivers_code = False
