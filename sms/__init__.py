"""Text me a code: sending the SMS and following its delivery."""
from flask import Blueprint

from verify.core import require_twilio_signature

bp = Blueprint("sms", __name__, url_prefix="/sms")
bp.before_request(require_twilio_signature)  # every view here is a webhook Twilio signs

from . import status  # noqa: E402,F401  (registers the webhook on bp)
from .channel import SmsChannel  # noqa: E402,F401
