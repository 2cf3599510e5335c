"""The Core: telverify's operations, stores, limiter and channels, wired once per app.

`create_app` builds one and keeps it on the app; views and webhooks reach it through `core()`
and call its operations (and, for what only a channel can do, its channels' methods).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from flask import Flask, current_app
from redis.cluster import RedisCluster

from .audit import AuditLog
from .lockouts import Lockouts
from .methods import Methods
from .methods.backup import MethodBackup
from .methods.helpdesk import HelpDesk
from .protection.auth_failures import AuthGuard
from .protection.windows import Limiter
from .rate_limits import RateLimits
from .safe_list import SafeList
from .services import Services
from .store import readiness
from .store.upgrade import Adoption
from .twilio import signatures
from .verifications import Channel, Verifications

if TYPE_CHECKING:
    from config import Settings

    from .eam.signins import Eam
    from .portal import Portal

EXTENSION = "telverify"


@dataclass(frozen=True)
class Core:
    settings: Settings
    redis: redis.Redis | RedisCluster  # for the readiness check; the stores hold their own reference
    services: Services
    verifications: Verifications
    rate_limits: RateLimits
    safe_list: SafeList
    limiter: Limiter
    auth_guard: AuthGuard
    channels: dict[str, Channel]
    adoption: Adoption  # what was stored before accounts (verify/store/upgrade.py)
    lockouts: Lockouts  # a number's lockout, as the help desk reads and clears it
    audit: AuditLog  # what admins did through /admin
    methods: Methods  # Verify's Entities, Factors and Challenges
    help_desk: HelpDesk  # a person's sign-in methods, as the help desk sees them (/admin)
    backup: MethodBackup  # an account's entities and factors exported and imported (/admin)
    eam: Eam | None = None  # Entra External MFA (verify/eam/); None unless EAM_* configure it
    portal: Portal | None = None  # the people's own pages (verify/portal/); None unless MY_* configure them

    def check_store(self) -> None:
        """Raise the store's error unless Redis takes a write and holds every script (readiness)."""
        readiness.check(self.redis)

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self

    @staticmethod
    def of(app: Flask) -> Core:
        return app.extensions[EXTENSION]


def core() -> Core:
    """The current app's Core."""
    return current_app.extensions[EXTENSION]


def require_twilio_signature():
    """A blueprint's before_request for Twilio's webhooks: None, or the 403 of a request
    without a valid X-Twilio-Signature."""
    settings = core().settings
    return signatures.refusal(settings.twilio_auth_token, settings.signature_base_url)
