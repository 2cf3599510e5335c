"""A local stand-in for Microsoft Entra ID in front of an External MFA provider (telverify): it
publishes "Microsoft's" discovery document and keys, signs id_token_hints for test users, has the
browser POST the authorize request to the provider, and checks the provider's form_post answer
as Entra does, showing and recording the outcome.

    with EntraStandIn(client_id, provider_discovery_url) as entra:
        ...telverify with EAM_MICROSOFT_DISCOVERY_URL=entra.discovery_url and
           EAM_EXTRA_REDIRECT_URIS=entra.redirect_uri...
        page.goto(entra.signin_url(tid, oid))     # a browser, through the provider's pages
        entra.wait_for_result()["amr"]            # "tel", "sms" or "otp"
"""
from .app import create_entra_app
from .hints import KINDS, OTHER_TENANT
from .server import EntraStandIn
from .signins import Settings, User

__all__ = ["KINDS", "OTHER_TENANT", "EntraStandIn", "Settings", "User", "create_entra_app"]
