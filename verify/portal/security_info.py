"""A person's Security info: their methods as rows of the page, and the changes they make
themselves, each through the Entities and Factors of MY_SERVICE_SID and recorded in the audit
log with the person as its actor ("my:<identity>")."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .. import phone
from ..audit import AuditLog
from ..errors import VerifyError
from ..methods import Methods
from ..methods.model import Factor
from .messages import N_

log = logging.getLogger("telverify.my")



# The names Microsoft's Security info page gives each method.
TITLES = {"mobile": N_("Phone"), "alternate": N_("Alternate phone"), "office": N_("Office phone"),
          "app": N_("Authenticator app")}
APP_NAME = "Authenticator app"


class Refusal(Exception):
    """What the person is told, on the page they were on: `text` in English, the message
    catalogue's id (views/ says it in the person's language), with `params` put in its {names}."""

    def __init__(self, text: str, **params):
        super().__init__(text.format(**params))
        self.text, self.params = text, params


@dataclass(frozen=True)
class Method:
    factor_sid: str
    kind: str  # mobile, alternate, office, app
    channel: str  # how a phone is reached first (sms, call_approve); "" for an app
    title: str  # Phone, Alternate phone, Office phone, Authenticator app
    detail: str  # the number partly hidden, or an app's own name ("": it has none; `added` tells it)
    verified: bool
    default: bool
    added: float  # when it was added (epoch s)


@dataclass(frozen=True)
class NewApp:
    """An authenticator app being added: shown once, with its secret, until its first code."""
    factor_sid: str
    secret: str
    account: str
    qr_svg: str


class SecurityInfo:
    def __init__(self, service_sid: str, methods: Methods, audit: AuditLog, notify=None):
        self.service_sid = service_sid
        self.methods = methods
        self.audit = audit
        self.notify = notify  # (E.164, text): a text to the person's other phone; None: no texts

    def tell_other_phone(self, identity: str, changed_sid: str, what: str) -> None:
        """Text the person's proven mobile, other than the method that changed (the default
        first), that `what` happened: whoever made the change without them is found out. A text
        that cannot go is logged; the change stands."""
        if self.notify is None:
            return
        entity, factors = self.methods.entities.store.methods(self.service_sid, identity)
        mobiles = [f for f in factors if f["ty"] == "phone" and f["kd"] == "mobile" and f["st"] == "verified"
                   and f["sid"] != changed_sid]
        if entity is None or not mobiles:
            return
        mobile = sorted(mobiles, key=lambda f: f["sid"] != entity.get("df"))[0]
        when = time.strftime("%-d %B %Y at %H:%M UTC", time.gmtime())
        try:
            self.notify(mobile["pn"], f"Security info: {what} on {when}. If this wasn't you, tell your IT help "
                                      "desk now.")
        except Exception as exc:  # Twilio down or slow, no carrier slot: the change is made all the same
            log.warning("/my/: could not text %s of a change to its person's methods: %s",
                        phone.mask(mobile["pn"]), type(exc).__name__)

    def methods_of(self, identity: str) -> list[Method]:
        """The person's methods, the default first, then in the order they were added; a phone
        still being changed is shown as the one it replaces until it is proven."""
        entity, factors = self.methods.entities.store.methods(self.service_sid, identity)
        if any(f.get("rp") and f["st"] == "verified" for f in factors):
            self.complete_change(identity)
            entity, factors = self.methods.entities.store.methods(self.service_sid, identity)
        factors = [f for f in factors if not (f.get("rp") and f["st"] != "verified")]
        if entity is None:
            return []
        rows = [self._row(factor, factor["sid"] == entity.get("df")) for factor in factors]
        return sorted(rows, key=lambda row: not row.default)

    @staticmethod
    def _row(stored: dict[str, str], default: bool) -> Method:
        kind = stored["kd"] if stored["ty"] == "phone" else "app"
        if stored["ty"] == "phone":
            title, detail = TITLES.get(stored["kd"], "Phone"), phone.for_person(stored["pn"])
            if stored["kd"] == "office" and stored.get("px"):
                detail += " ext. ••"
        else:
            # An app's own name when it has one; else when it was added tells two apart (views/).
            name = stored.get("fn") or ""
            title, detail = TITLES["app"], "" if name == APP_NAME else name
        return Method(stored["sid"], kind, stored.get("pc", ""), title, detail, stored["st"] == "verified", default,
                      float(stored["ca"]))

    def complete_change(self, identity: str) -> None:
        """A proven phone that replaces another ("Change") takes its place: the default if that one
        was, and the old one deleted. Done when the new one is proven, and again whenever Security
        info is read, should the person have left before (deleting twice deletes once)."""
        entity, factors = self.methods.entities.store.methods(self.service_sid, identity)
        present = {factor["sid"] for factor in factors}
        for factor in factors:
            old = factor.get("rp")
            if factor["st"] != "verified" or not old or old not in present:
                continue
            try:
                if entity and entity.get("df") == old:
                    self.methods.entities.set_default_factor(self.service_sid, identity, factor["sid"])
                self.methods.factors.delete(self.service_sid, identity, old)
            except VerifyError:  # changed meanwhile by another request: nothing left to do
                continue
            self.record(identity, "my.method.delete", 200)

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
                if error.status == 429 else _refusal(error) from None
        if updated.status != "verified":
            return False
        self.proven(identity, factor_sid, "my.app.verify")
        return True

    def proven(self, identity: str, factor_sid: str, action: str) -> None:
        """A method the person has just proven: recorded, their default when they had none, and
        told to their other phone."""
        self.record(identity, action, 200)
        if self.methods.entities.get(self.service_sid, identity).default_factor_sid is None:
            self.set_default(identity, factor_sid)
        self.tell_other_phone(identity, factor_sid, "a sign-in method was added to your account")

    # -- default and deletion ------------------------------------------------------------------
    def set_default(self, identity: str, factor_sid: str) -> None:
        self.change(identity, "my.default.change", lambda: self.methods.entities.set_default_factor(
            self.service_sid, identity, factor_sid))
        self.tell_other_phone(identity, factor_sid, "your default sign-in method was changed")

    def delete(self, identity: str, factor_sid: str) -> None:
        """Refused for the person's last verified method: without it they could not sign in."""
        factor = self._factor(identity, factor_sid)
        if factor.status == "verified" and self.verified_count(identity) <= 1:
            self.record(identity, "my.method.delete", 409)
            raise Refusal("This is your only sign-in method. Add another method first, then delete this one.")
        self.change(identity, "my.method.delete", lambda: self.methods.factors.delete(
            self.service_sid, identity, factor_sid))
        if factor.status == "verified":
            self.tell_other_phone(identity, factor_sid, "a sign-in method was deleted from your account")

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
            raise _refusal(error) from None
        self.record(identity, action, 200)
        return result

    def record(self, identity: str, action: str, status: int) -> None:
        """An audit entry whose actor is the person themself."""
        self.audit.record(f"my:{identity}", action, status, service_sid=self.service_sid, identity=identity)


def _refusal(error: VerifyError) -> Refusal:
    """A refusal of the core, in the person's words (its own, for the API, is logged)."""
    log.warning("/my/: a change refused: %s %s", error.code, phone.mask_numbers(error.message))
    if error.status == 404:
        return Refusal("That method isn't one of yours any more. Here are the ones you have.")
    if error.status == 403:
        return Refusal("Only a method you have proven can be your default.")
    return Refusal("That change can't be made just now. Please try again in a few minutes.")
