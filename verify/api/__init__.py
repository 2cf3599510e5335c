"""The Verify v2 API under /v2: same paths, parameters, JSON and errors as Twilio Verify."""
from flask import Blueprint

from .auth import require_api_credentials

bp = Blueprint("verify_v2", __name__, url_prefix="/v2")
bp.before_request(require_api_credentials)

from . import blocked, rate_limits, safe_list, services, verifications  # noqa: E402,F401  (register routes on bp)
