"""A small OpenID Connect provider for /my/'s tests: an organisation's identity provider as its
clients meet it (discovery, keys, the authorization code flow with PKCE S256, client_secret_basic
at the token endpoint), serving over real HTTP in a thread. It signs in `user` at once, and
spoils its ID tokens as a test asks (`spoil`): wrong key, wrong audience, wrong issuer, wrong
nonce, expired."""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.support import Served

SPOILS = ("wrong_key", "wrong_audience", "wrong_issuer", "wrong_nonce", "expired")


class OidcProvider(Served):
    def __init__(self, client_id: str, client_secret: str):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.issuer = f"{self.url}/tenant"
        self.redirect_uri = ""  # the one registered for the client: set once the app's URL is known
        self.user: dict = {"sub": "pairwise-subject-0001", "oid": "00000000-0000-4000-8000-00000000a11e"}
        self.spoil: str | None = None
        self.deny = False
        self.key = RSAKey.generate_key(2048, parameters={"kid": "provider-key-1", "use": "sig"})
        self.stranger = RSAKey.generate_key(2048, parameters={"kid": "provider-key-1", "use": "sig"})
        self.codes: dict[str, dict] = {}
        self.tokens_issued = 0
        self.serve(self._app())

    def _app(self) -> Flask:
        app = Flask(__name__)

        @app.get("/tenant/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=self.issuer, authorization_endpoint=f"{self.issuer}/authorize",
                           token_endpoint=f"{self.issuer}/token", jwks_uri=f"{self.issuer}/keys",
                           response_types_supported=["code"], subject_types_supported=["pairwise"],
                           id_token_signing_alg_values_supported=["RS256"],
                           code_challenge_methods_supported=["S256"])

        @app.get("/tenant/keys")
        def keys():
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.get("/tenant/authorize")
        def authorize():
            args = request.args
            if args.get("client_id") != self.client_id or args.get("redirect_uri") != self.redirect_uri:
                return "unknown client or redirect_uri", 400
            if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split() or \
                    args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
                return "the flow must be the code flow with PKCE S256 and the openid scope", 400
            if self.deny:
                return redirect(f"{self.redirect_uri}?{urlencode({'error': 'access_denied', 'state': args['state']})}")
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"nonce": args.get("nonce", ""), "challenge": args["code_challenge"],
                                "scopes": args.get("scope", "").split()}
            return redirect(f"{self.redirect_uri}?{urlencode({'code': code, 'state': args.get('state', '')})}")

        @app.post("/tenant/token")
        def token():
            auth = request.authorization
            if auth is None or (auth.username, auth.password) != (self.client_id, self.client_secret):
                return jsonify(error="invalid_client"), 401
            form = request.form
            flow = self.codes.pop(form.get("code", ""), None)
            if form.get("grant_type") != "authorization_code" or flow is None or \
                    form.get("redirect_uri") != self.redirect_uri:
                return jsonify(error="invalid_grant"), 400
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != flow["challenge"]:
                return jsonify(error="invalid_grant", error_description="PKCE"), 400
            self.tokens_issued += 1
            return jsonify(access_token=secrets.token_urlsafe(16), token_type="Bearer", expires_in=3600,
                           id_token=self.id_token(flow["nonce"], flow["scopes"]))

        return app

    def id_token(self, nonce: str, scopes: list[str]) -> str:
        now = int(time.time())
        # As Microsoft Entra ID: a person's oid only for the `profile` scope.
        user = {k: v for k, v in self.user.items() if k != "oid" or "profile" in scopes}
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "nbf": now, "exp": now + 3600,
                  "nonce": nonce, **user}
        if self.spoil == "wrong_audience":
            claims["aud"] = "someone-else"
        elif self.spoil == "wrong_issuer":
            claims["iss"] = "http://127.0.0.1:9/other"
        elif self.spoil == "wrong_nonce":
            claims["nonce"] = "a-nonce-of-another-sign-in"
        elif self.spoil == "expired":
            claims.update(iat=now - 7200, exp=now - 3600)
        key = self.stranger if self.spoil == "wrong_key" else self.key
        return jwt.encode({"alg": "RS256", "kid": "provider-key-1"}, claims, key)
