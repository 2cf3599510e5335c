"""POST /sms/status: Twilio's delivery reports for the texts we sent."""
from __future__ import annotations

from flask import current_app, request

from verify import sids
from verify.webhooks import twilio_signed

from . import bp


@bp.post("/status")
@twilio_signed
def delivery_status():
    service_sid, sid = request.args.get("service", ""), request.args.get("verification", "")
    attempt = request.args.get("attempt", "")
    status = request.form.get("MessageStatus", "")
    # Twilio retries a webhook that fails, so a report we cannot use still gets 204.
    if sids.is_sid(service_sid, sids.SERVICE) and sids.is_sid(sid, sids.VERIFICATION) and attempt.isdigit():
        current_app.extensions["telverify"].record_delivery(
            service_sid, sid, int(attempt), status, request.form.get("ErrorCode", ""))
    return "", 204
