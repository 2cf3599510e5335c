"""telverify as a Microsoft Entra External MFA provider (OIDC implicit flow, form_post).

Entra posts an authorize request carrying an id_token_hint it signed; telverify checks the hint
with Microsoft's keys (microsoft.py), opens a sign-in (signins.py), lets the person prove their
second factor with the methods they hold as Verify Entities and Factors, and posts back an
id_token signed with its own key (keys.py), or an OIDC error. request.py reads and judges the
authorize request; views.py and templates/ are the person's pages. None of the modules but
views.py sees Flask. docs/entra.md is the administrator's guide.
"""
