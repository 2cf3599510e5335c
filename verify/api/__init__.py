"""The Verify v2 API under /v2: same paths, parameters, JSON and errors as Twilio Verify."""
from flask import Blueprint

from .auth import require_application

bp = Blueprint("verify_v2", __name__, url_prefix="/v2")
bp.before_request(require_application)

# Each module registers its routes on bp.
from . import blocked, challenges, entities, factors, rate_limits, safe_list, services, verifications  # noqa: E402,F401
