"""Who is signed in to /my/: the demo directory's first step, and the sessions it and the organisation's
provider (organisation.py) open.

The session's cookie is 256 random bits; Redis holds only its SHA-256, so a copy of Redis signs
no one in. Each form carries a CSRF token, an HMAC of the cookie under a key of SECRET_KEY's own:
a forged cross-site form cannot know it, and nothing has to be stored for it. Passwords are
compared as SHA-256 digests in constant time; failed sign-ins are limited per identity and per
address, so a password cannot be guessed from one place nor one person's tried from many.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from limits import parse

from ..codes import derive_key
from ..protection.windows import Limiter
from ..store.portal import PortalStore

if TYPE_CHECKING:
    from config import MySettings

log = logging.getLogger("telverify.my")

FRESH_SECONDS = 300  # a second step lets the person change their methods for this long
FAILURES_PER_IDENTITY = parse("5 per 15 minutes")
FAILURES_PER_ADDRESS = parse("20 per 15 minutes")
STARTS_PER_ADDRESS = parse("30 per 15 minutes")


class SignInRefused(Exception):
    """The sign-in's message for the person: wrong name or password, or too many tries."""


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value
    identity: str
    ends: float
    fresh_until: float = 0.0  # the last second step counts until then
    next_path: str = ""  # where a second step, once taken, goes back to
    target: str = ""  # the factor that page changes: not the one to prove it with, when others exist

    @property
    def fresh(self) -> bool:
        return self.fresh_until > time.time()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Sessions:
    def __init__(self, settings: MySettings, store: PortalStore, limiter: Limiter, secret_key: str):
        self.settings = settings
        self.store = store
        self.limiter = limiter
        self._csrf_key = derive_key(secret_key, b"my csrf")
        self._passwords = {identity: hashlib.sha256(password.encode()).digest()
                           for identity, password in settings.demo_people.items()}

    def sign_in(self, identity: str, password: str, address: str) -> Session:
        identity = identity.strip()
        windows = ((FAILURES_PER_IDENTITY, f"id:{identity[:64]}"), (FAILURES_PER_ADDRESS, f"ip:{address}"))
        if any(self.limiter.test(limit, "my-signin", who) for limit, who in windows):
            raise SignInRefused("Too many wrong tries. Wait 15 minutes, then try again.")
        known = self._passwords.get(identity)
        given = hashlib.sha256(password.encode()).digest()
        # Compared even for an unknown name, so that the time taken does not tell names apart.
        matched = hmac.compare_digest(known or b"\0" * 32, given) and known is not None
        if not matched:
            for limit, who in windows:
                self.limiter.hit(limit, "my-signin", who)
            log.warning("/my/: a sign-in refused")
            raise SignInRefused("That name and password don't match. Check them and try again.")
        return self.open(identity)

    def open(self, identity: str) -> Session:
        """A new session for a person whose first step is done (a password, or their provider)."""
        token = secrets.token_urlsafe(32)
        ends = time.time() + self.settings.session_seconds
        self.store.open_session(_digest(token), identity, ends, self.settings.session_seconds + 60)
        return Session(token, identity, ends)

    def may_start_elsewhere(self, address: str) -> bool:
        """False when this address has started too many sign-ins at the organisation's provider
        (each is kept a few minutes in Redis)."""
        return self.limiter.hit(STARTS_PER_ADDRESS, "my-signin-start", address) is None

    def get(self, token: str) -> Session | None:
        """The session of the cookie, while it lasts."""
        if not token or len(token) > 64:
            return None
        fields = self.store.session(_digest(token))
        if fields is None or float(fields.get("ex", "0")) <= time.time():
            return None
        return Session(token, fields["id"], float(fields["ex"]), float(fields.get("fr") or 0),
                       fields.get("nx", ""), fields.get("tg", ""))

    def ask_second_step(self, session: Session, next_path: str, target: str = "") -> None:
        """Remember where to go back to once the person has taken a second step."""
        self.store.update_session(_digest(session.token), {"nx": next_path, "tg": target})

    def second_step_taken(self, session: Session) -> str:
        """The session counts as fresh for FRESH_SECONDS; where to go back to."""
        self.store.update_session(_digest(session.token), {"fr": repr(time.time() + FRESH_SECONDS), "nx": "",
                                                           "tg": ""})
        return session.next_path

    def sign_out(self, session: Session) -> None:
        self.store.close_session(_digest(session.token))

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.token.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, session: Session, given: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session), given or "")
