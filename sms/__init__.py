"""Text me a code: sending the SMS and following its delivery."""
from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/sms")

from . import status  # noqa: E402,F401  (registers the webhook on bp)
from .channel import SmsChannel  # noqa: E402,F401
