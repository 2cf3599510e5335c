"""A fresh second step before a person changes their methods, as Microsoft asks for one: adding
a method once they have a proven one, changing the default, deleting one. The person proves a
method they have (an app's code, a texted code, a call answered with #), another than the one
the change is about whenever they have another; the session then counts as fresh for a few
minutes (sessions.FRESH_SECONDS). Without it, whoever learnt a person's password could add a
phone of their own and pass the person's sign-ins with it."""
from __future__ import annotations

from ..errors import VerifyError
from ..methods import Methods
from .phones import FieldRefusal, Phones, Proof
from .security_info import Method, Refusal, SecurityInfo


class SecondStep:
    def __init__(self, service_sid: str, methods: Methods, info: SecurityInfo, phones: Phones):
        self.service_sid = service_sid
        self.methods = methods
        self.info = info
        self.phones = phones

    def needed(self, identity: str) -> bool:
        """A person with a proven method changes their methods only after a second step."""
        return self.info.verified_count(identity) > 0

    def options(self, identity: str, target: str = "") -> list[Method]:
        """The proven methods to take it with: all but `target`, unless it is the only one."""
        proven = [method for method in self.info.methods_of(identity) if method.verified]
        others = [method for method in proven if method.factor_sid != target]
        return others or proven

    def start(self, identity: str, factor_sid: str, target: str = "") -> Proof | None:
        """Text or call a phone (its Proof); None for an app, whose code the person types."""
        method = self._option(identity, factor_sid, target)
        if method.kind == "app":
            return None
        return self.phones.prove(identity, factor_sid)

    def app_code(self, identity: str, factor_sid: str, code: str, target: str = "") -> bool:
        """True when the app's code is right, and new."""
        self._option(identity, factor_sid, target)
        code = "".join(code.split())
        if not (code.isdigit() and 6 <= len(code) <= 8):
            raise FieldRefusal("Enter the 6-digit code your app shows.", "code")
        try:
            challenge = self.methods.challenges.create(self.service_sid, identity, factor_sid, code, None,
                                                       {"message": "Security info: a change"}, None)
        except VerifyError:
            raise FieldRefusal("That code can't be used. Enter the code your app shows now.", "code") from None
        return challenge.status == "approved"

    def taken(self, identity: str) -> None:
        self.info.record(identity, "my.second_step", 200)

    def _option(self, identity: str, factor_sid: str, target: str) -> Method:
        method = next((m for m in self.options(identity, target) if m.factor_sid == factor_sid), None)
        if method is None:
            raise Refusal("Choose one of the methods shown.")
        return method
