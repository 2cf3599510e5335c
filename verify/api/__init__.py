"""The Verify v2 API under /v2: same paths, parameters, JSON and errors as Twilio Verify."""
import logging

import redis
from flask import Blueprint
from redis.exceptions import RedisClusterException

from ..core import core
from .auth import require_api_credentials, require_own_service

log = logging.getLogger("telverify.upgrade")
bp = Blueprint("verify_v2", __name__, url_prefix="/v2")
bp.before_request(require_api_credentials)


@bp.before_request
def adopt_unowned_data():
    """What was stored before accounts, adopted at start unless Redis was unreachable then. While
    Redis is, the request goes on: it answers its own 400, or its 503."""
    try:
        core().adoption.run()
    except (redis.RedisError, RedisClusterException) as exc:
        log.warning("what was stored before accounts is not adopted yet: Redis %s", type(exc).__name__)


bp.before_request(require_own_service)

from . import blocked, rate_limits, safe_list, services, verifications  # noqa: E402,F401  (register routes on bp)
