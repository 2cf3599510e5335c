"""EntraStandIn: the stand-in app on a threaded werkzeug server in a background thread, with the
Python methods tests use: hints minted, authorize requests started, answers awaited."""
from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import EXTENSION_KEY, REDIRECT_PATH, create_entra_app
from .signins import Settings, SignIns, User

log = logging.getLogger("entra_standin")


class _RequestHandler(WSGIRequestHandler):
    quiet = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.quiet:
            log.info('%s "%s %s" %s', self.address_string(), self.command, self.path, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class EntraStandIn:
    """    with EntraStandIn(client_id, "http://telverify/.well-known/openid-configuration") as entra:
            endpoint, fields = entra.authorize(tid, oid)   # POST fields to endpoint
            entra.wait_for_result(fields["state"])["outcome"]
    """

    def __init__(self, client_id: str, provider_discovery_url: str, host: str = "127.0.0.1", port: int = 0,
                 user: User | None = None, quiet: bool = True, public_base_url: str | None = None):
        handler = type("RequestHandler", (_RequestHandler,), {"quiet": quiet})
        # Bound first, so the base URL (part of the settings) is known before the app is built.
        self._server = make_server(host, port, None, threaded=True, request_handler=handler)
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.base_url = public_base_url or f"http://{shown}:{self._server.server_port}"
        self.settings = Settings(client_id, provider_discovery_url, user or User(), self.base_url)
        self.app = create_entra_app(self.settings)
        self._server.app = self.app
        self.signins: SignIns = self.app.extensions[EXTENSION_KEY]
        self._thread: threading.Thread | None = None

    @property
    def provider_discovery_url(self) -> str:
        return self.settings.provider_discovery_url

    @provider_discovery_url.setter
    def provider_discovery_url(self, url: str) -> None:
        """Pointed at the provider once it runs: the provider's settings name the stand-in's URLs,
        so one of the two learns the other's after it has started."""
        self.settings = dataclasses.replace(self.settings, provider_discovery_url=url)
        self.signins.settings = self.settings

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def discovery_url(self) -> str:
        """"Microsoft's" common v2.0 discovery: telverify's EAM_MICROSOFT_DISCOVERY_URL."""
        return f"{self.base_url}/common/v2.0/.well-known/openid-configuration"

    @property
    def redirect_uri(self) -> str:
        """Where the provider answers: one of telverify's EAM_EXTRA_REDIRECT_URIS."""
        return self.base_url + REDIRECT_PATH

    def start(self) -> "EntraStandIn":
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="entra-standin", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "EntraStandIn":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- for tests ---------------------------------------------------------
    def signin_url(self, tid: str | None = None, oid: str | None = None, name: str | None = None,
                   hint: str = "valid") -> str:
        """The sign-in start page of a person (the default user's parts where None)."""
        query = {k: v for k, v in {"tid": tid, "oid": oid, "name": name, "hint": hint}.items() if v}
        return f"{self.base_url}/signin?{urlencode(query)}"

    def hint(self, kind: str = "valid", tid: str | None = None, oid: str | None = None, **person: str) -> str:
        user = self.settings.user
        return self.signins.hints.mint(kind, tid or user.tid, oid or user.oid, **person)

    def authorize(self, tid: str | None = None, oid: str | None = None, kind: str = "valid",
                  hint: str | None = None, name: str = "Test User") -> tuple[str, dict]:
        """(telverify's authorization endpoint, the authorize form's fields) of a new sign-in, open
        for an answer: a hint of `kind`, or `hint` itself (the same hint again: a replay)."""
        user = self.settings.user
        return self.signins.start(self.redirect_uri, tid or user.tid, oid or user.oid, name, kind=kind, hint=hint)

    def results(self, state: str | None = None) -> list[dict]:
        return self.signins.ledger.results(state)

    def wait_for_result(self, state: str | None = None, timeout: float = 10.0, count: int = 1) -> dict:
        return self.signins.ledger.wait_for_result(state, timeout, count)

    def clear(self) -> None:
        self.signins.ledger.clear()
