"""The stand-in's Flask app: "Microsoft's" discovery and keys, the sign-in start page, the
redirect_uri that receives and checks the provider's answer, and the results for tests.

    GET  /                                            the test user and links to sign in
    GET  /common/v2.0/.well-known/openid-configuration    "Microsoft's" common discovery
    GET  /<tenant>/v2.0/.well-known/openid-configuration  a tenant's, with its own issuer
    GET  /common/discovery/v2.0/keys                  the JWKS that signs hints
    GET  /signin?tid=&oid=&name=&username=&hint=      the authorize request, auto-submitted
    POST /common/federation/externalauthprovider      the redirect_uri: the provider's answer
    GET, DELETE /_standin/results                     each answer's outcome, in order
    GET  /_standin/health                             {"status": "ok", "pid": ...}
"""
from __future__ import annotations

import os
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, render_template, request

from . import validation
from .hints import KINDS, Hints, issuer
from .keys import SigningKey
from .ledger import Ledger
from .signins import Settings, SignIns

EXTENSION_KEY = "entra_standin"
REDIRECT_PATH = "/common/federation/externalauthprovider"


def create_entra_app(settings: Settings) -> Flask:
    app = Flask("entra_standin")
    key = SigningKey()
    ledger = Ledger()
    signins = SignIns(settings, Hints(settings.client_id, key), ledger)
    app.extensions[EXTENSION_KEY] = signins

    def base_url() -> str:
        return settings.base_url or request.host_url.rstrip("/")

    def discovery_document(issuer_value: str) -> dict:
        base = base_url()
        return {
            "issuer": issuer_value,
            "authorization_endpoint": f"{base}/common/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/common/oauth2/v2.0/token",
            "jwks_uri": f"{base}/common/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "nonce", "oid",
                                 "preferred_username", "tid", "ver"],
            "tenant_region_scope": None,
        }

    @app.get("/common/v2.0/.well-known/openid-configuration")
    def common_discovery():
        return jsonify(discovery_document(issuer("{tenantid}")))

    @app.get("/<tenant>/v2.0/.well-known/openid-configuration")
    def tenant_discovery(tenant: str):
        return jsonify(discovery_document(issuer(tenant)))

    @app.get("/common/discovery/v2.0/keys")
    def keys():
        return jsonify({"keys": [key.jwk(issuer("{tenantid}"))]})

    @app.get("/")
    def index():
        user = settings.user
        links = {kind: "/signin?" + urlencode({"hint": kind}) for kind in KINDS}
        return render_template("index.html", settings=signins.settings, user=user, links=links,
                               redirect_uri=base_url() + REDIRECT_PATH)

    @app.get("/signin")
    def signin():
        args = request.args
        person = {"tid": args.get("tid") or settings.user.tid, "oid": args.get("oid") or settings.user.oid,
                  "name": args.get("name") or settings.user.name,
                  "username": args.get("username") or settings.user.username}
        kind = args.get("hint") or "valid"
        if kind not in KINDS:
            abort(400, f"hint must be one of {', '.join(KINDS)}")
        try:
            endpoint, fields = signins.start(base_url() + REDIRECT_PATH, kind=kind, **person)
        except validation.Refused as exc:
            return render_template("result.html", outcome="unreachable", reason=str(exc)), 502
        return render_template("signin.html", endpoint=endpoint, fields=fields, person=person, kind=kind)

    @app.post(REDIRECT_PATH)
    def external_auth_provider():
        result = signins.answer(request.form.to_dict())
        return render_template("result.html", **result)

    @app.get("/_standin/results")
    def results():
        return jsonify(ledger.results(request.args.get("state")))

    @app.delete("/_standin/results")
    def forget():
        ledger.clear()
        return "", 204

    @app.get("/_standin/health")
    def health():
        return jsonify({"status": "ok", "pid": os.getpid()})

    return app
