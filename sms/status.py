"""POST /sms/status: Twilio's delivery reports for the texts telverify sent."""
from __future__ import annotations

from flask import request

from verify.core import core
from verify.twilio.callbacks import attempt_of

from . import bp


@bp.post("/status")
def delivery_status():
    ref = attempt_of(request.args)
    # Twilio retries a webhook that fails, so a report we cannot use still gets 204.
    if ref is not None:
        core().verifications.record_delivery(ref.service_sid, ref.verification_sid, ref.attempt,
                                             request.form.get("MessageStatus", ""), request.form.get("ErrorCode", ""))
    return "", 204
