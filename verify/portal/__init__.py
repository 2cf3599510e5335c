"""The people's own pages under /my/: their Security info, as Microsoft's pages show it.

A person signs in with their organisation's OpenID Connect provider (`organisation.py`:
MY_OIDC_*) or the demo directory (`sessions.py`: MY_DEMO_PEOPLE), and gets a session, a cookie
whose SHA-256 names its Redis hash. `security_info.py` reads and
changes their methods through the Entities and Factors of MY_SERVICE_SID, and records each
change in the audit log; `phones.py` adds a phone and proves it by a text or a call. `views.py`
and `templates/` are the pages; none of the other modules sees Flask. docs/my.md is the guide.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..audit import AuditLog
from ..methods import Methods
from ..protection.windows import Limiter
from ..store.portal import PortalStore
from .organisation import OrganisationSignIn
from .phones import Phones
from .second_step import SecondStep
from .security_info import SecurityInfo
from .sessions import Sessions


@dataclass(frozen=True)
class Portal:
    sessions: Sessions
    security_info: SecurityInfo
    phones: Phones
    second_step: SecondStep
    organisation: OrganisationSignIn | None  # the organisation's provider, when MY_OIDC_* name one


def build_portal(settings, redis_client, limiter: Limiter, methods: Methods, audit: AuditLog,
                 channels: dict) -> Portal:
    """The Portal of a deployment whose `settings` (config.Settings) turn /my/ on."""
    service = settings.my.service_sid
    info = SecurityInfo(service, methods, audit, channels["sms"].notify if "sms" in channels else None)
    phones = Phones(service, methods, info)
    store = PortalStore(redis_client)
    organisation = OrganisationSignIn(settings.my.oidc, store, f"{settings.signature_base_url}/my/signin/callback") \
        if settings.my.oidc else None
    return Portal(Sessions(settings.my, store, limiter, settings.secret_key), info, phones,
                  SecondStep(service, methods, info, phones), organisation)
