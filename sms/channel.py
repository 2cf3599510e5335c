"""The `sms` channel: one text through the account's sender, with a delivery callback."""
from __future__ import annotations

from verify.errors import LANDLINE, VerifyError
from verify.phone import Destination, mask
from verify.twilio.callbacks import AttemptRef, callback_url

from .texts import code_message


class SmsChannel:
    name = "sms"
    delivers_code = True
    dials = False

    def __init__(self, twilio_client, settings):
        self.twilio = twilio_client
        self.settings = settings

    def refuse(self, destination: Destination, service: dict) -> VerifyError | None:
        if destination.is_fixed_line:
            return VerifyError(LANDLINE, "SMS is not supported by landline phone number "
                               f"{mask(destination.e164)}; use Channel=call to read the code by phone.")
        return None

    def send(self, verification, code: str, service: dict, attempt: int) -> None:
        name = verification.custom_friendly_name or service["friendly_name"]
        report_url = callback_url(self.settings.signature_base_url, "/sms/status",
                                  AttemptRef(verification.service_sid, verification.sid, attempt))
        self.twilio.messages.create(
            to=verification.to,
            body=code_message(verification.locale, name, code, service["do_not_share_warning_enabled"]),
            status_callback=report_url,
            **self._sender(),
        )

    def _sender(self) -> dict:
        if self.settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
        return {"from_": self.settings.twilio_from_number}

    def notify(self, to: str, body: str) -> None:
        """A plain text with no code and no delivery callback: a person told of a change to
        their sign-in methods (verify/portal/). Twilio's refusal or slowness raises, as a send's."""
        self.twilio.messages.create(to=to, body=body, **self._sender())
