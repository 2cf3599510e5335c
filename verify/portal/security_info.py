"""A person's Security info: their methods as rows of the page, and the changes they make
themselves, each through the Entities and Factors of MY_SERVICE_SID and recorded in the audit
log with the person as its actor ("my:<identity>")."""
from __future__ import annotations

import time
from dataclasses import dataclass

from .. import phone
from ..audit import AuditLog
from ..errors import VerifyError
from ..methods import Methods
from ..methods.model import Factor

# The names Microsoft's Security info page gives each method.
TITLES = {"mobile": "Phone", "alternate": "Alternate phone", "office": "Office phone", "app": "Authenticator app"}
APP_NAME = "Authenticator app"


class Refusal(Exception):
    """What the person is told, on the page they were on."""


@dataclass(frozen=True)
class Method:
    factor_sid: str
    title: str  # Phone, Alternate phone, Office phone, Authenticator app
    detail: str  # the number partly hidden, or the app's name
    verified: bool
    default: bool


@dataclass(frozen=True)
class NewApp:
    """An authenticator app being added: shown once, with its secret, until its first code."""
    factor_sid: str
    secret: str
    account: str
    qr_svg: str


class SecurityInfo:
    def __init__(self, service_sid: str, methods: Methods, audit: AuditLog):
        self.service_sid = service_sid
        self.methods = methods
        self.audit = audit

    def methods_of(self, identity: str) -> list[Method]:
        """The person's methods, the default first, then in the order they were added."""
        entity, factors = self.methods.entities.store.methods(self.service_sid, identity)
        if entity is None:
            return []
        rows = [self._row(factor, factor["sid"] == entity.get("df")) for factor in factors]
        return sorted(rows, key=lambda row: not row.default)

    @staticmethod
    def _row(stored: dict[str, str], default: bool) -> Method:
        if stored["ty"] == "phone":
            title, detail = TITLES.get(stored["kd"], "Phone"), phone.for_person(stored["pn"])
            if stored["kd"] == "office" and stored.get("px"):
                detail += " ext. ••"
        else:
            # An app's own name when it has one; else when it was added, which tells two apart.
            name = stored.get("fn") or ""
            added = time.strftime("%-d %B %Y", time.gmtime(float(stored["ca"])))
            title, detail = TITLES["app"], f"added {added}" if name in ("", APP_NAME) else name
        return Method(stored["sid"], title, detail, stored["st"] == "verified", default)

    def verified_count(self, identity: str) -> int:
        return sum(method.verified for method in self.methods_of(identity))

    # -- adding an authenticator app -----------------------------------------------------------
    def add_app(self, identity: str) -> NewApp:
        factor = self.change(identity, "my.app.add", lambda: self.methods.factors.create(
            self.service_sid, identity, "totp", APP_NAME, {}))
        binding = factor.binding or {}
        return NewApp(factor.sid, binding["secret"], identity, binding["qr_svg"])

    def verify_app(self, identity: str, factor_sid: str, code: str) -> bool:
        """True once the app's first code is accepted (the app is then a verified method, and the
        default when the person had none); False for a wrong code."""
        code = "".join(code.split())
        if not (code.isdigit() and 6 <= len(code) <= 8):
            raise Refusal("Enter the 6-digit code your app shows.")
        factor = self._factor(identity, factor_sid)
        if factor.status == "verified":
            return True
        try:
            updated = self.methods.factors.update(self.service_sid, identity, factor_sid, None, {}, code)
        except VerifyError as error:
            raise Refusal("That code was wrong too many times. Delete this app and add it again.") \
                if error.status == 429 else Refusal(error.message) from None
        if updated.status != "verified":
            return False
        self.proven(identity, factor_sid, "my.app.verify")
        return True

    def proven(self, identity: str, factor_sid: str, action: str) -> None:
        """A method the person has just proven: recorded, and their default when they had none."""
        self.record(identity, action, 200)
        if self.methods.entities.get(self.service_sid, identity).default_factor_sid is None:
            self.set_default(identity, factor_sid)

    # -- default and deletion ------------------------------------------------------------------
    def set_default(self, identity: str, factor_sid: str) -> None:
        self.change(identity, "my.default.change", lambda: self.methods.entities.set_default_factor(
            self.service_sid, identity, factor_sid))

    def delete(self, identity: str, factor_sid: str) -> None:
        """Refused for the person's last verified method: without it they could not sign in."""
        factor = self._factor(identity, factor_sid)
        if factor.status == "verified" and self.verified_count(identity) <= 1:
            self.record(identity, "my.method.delete", 409)
            raise Refusal("This is your only sign-in method. Add another method first, then delete this one.")
        self.change(identity, "my.method.delete", lambda: self.methods.factors.delete(
            self.service_sid, identity, factor_sid))

    def _factor(self, identity: str, factor_sid: str) -> Factor:
        try:
            return self.methods.factors.get(self.service_sid, identity, factor_sid)
        except VerifyError:
            raise Refusal("That method isn't one of yours any more. Here are the ones you have.") from None

    def change(self, identity: str, action: str, change):
        """`change()`'s result, recorded in the audit log; a refusal recorded and raised in words."""
        try:
            result = change()
        except VerifyError as error:
            self.record(identity, action, error.status)
            raise Refusal(error.message) from None
        self.record(identity, action, 200)
        return result

    def record(self, identity: str, action: str, status: int) -> None:
        """An audit entry whose actor is the person themself."""
        self.audit.record(f"my:{identity}", action, status, service_sid=self.service_sid, identity=identity)
