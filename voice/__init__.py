"""Call me: calls that read the code (`call`) or ask for # to approve (`call_approve`)."""
from flask import Blueprint

from verify.core import require_twilio_signature

bp = Blueprint("voice", __name__, url_prefix="/voice")
bp.before_request(require_twilio_signature)  # every view here is a webhook Twilio signs

from . import webhooks  # noqa: E402,F401  (registers the webhooks on bp)
from .channel import ApproveCallChannel, CallChannel  # noqa: E402,F401
