"""The admin API under /admin: a help desk's and an operator's view across accounts (accounts,
their services and SafeLists, a service's blocks, a number's lockout, Entra External MFA's signing
keys), with ADMIN_CREDENTIALS.
JSON, forms, pages and errors as /v2 answers them. Every request that authenticated is written
to the audit log once answered (audited.py), except reading the log itself (audit_log.py)."""
from flask import Blueprint

from ..api.auth import require_admin_credentials
from .audited import write_audit_entry

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_admin_credentials)
bp.after_request(write_audit_entry)

from . import (  # noqa: E402,F401  (register routes on bp)
    accounts,
    audit_log,
    backup,
    blocked,
    eam_keys,
    lockouts,
    methods,
    safe_list,
)
