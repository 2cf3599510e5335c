"""A person's second step for Entra: the sign-in an authorize request opens, the methods it
offers, the challenge it starts, and the answer it gives once.

A sign-in lasts as long as Entra waits (EAM_SIGNIN_SECONDS, at most Entra's five minutes) and is
answered once (eam_signin_answer.lua):
approved, with an id_token whose `amr` names the one method used (`sms` a texted code, `tel` any
call, `otp` an authenticator app), or an OIDC error. Only verified factors are offered: a phone
number nobody has proven is the person's would be a second factor anyone who knew the first could
register, and Entra's own registration (Security info) is where a number gets proven.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from .. import errors, phone
from ..errors import VerifyError
from ..methods import Methods
from ..methods.entities import valid_identity
from ..methods.phone import KINDS
from ..sealing import Keyring
from ..store.eam import EamStore
from .keys import PURPOSE, SigningKeys
from .microsoft import CLOCK_SKEW, HINT_MAX_AGE, BadHint, MicrosoftKeys
from .request import AuthorizeRequest, Refused

log = logging.getLogger("telverify.eam")

TOKEN_SECONDS = 5 * 60  # our id_token's lifetime
MAX_WRONG_CODES = 5  # per sign-in, across its methods; then access_denied
# How an approve call can end without a decision (docs/calls.md, call_outcome).
UNANSWERED = ("no_key", "hung_up", "machine", "busy", "no_answer", "failed", "canceled")
AMR = {"sms": "sms", "call": "tel", "call_approve": "tel", "totp": "otp"}


class Ended(Exception):
    """The sign-in is unknown, answered already, or past Entra's wait: a plain page, no answer.
    Past the wait nothing is posted: Entra has given up on the sign-in, so an answer would reach
    nobody, and the person starts again from the app."""


FINISHED = "This sign-in is finished. Go back to the app you were signing in to and start again."


def in_words(seconds: int) -> str:
    """A sign-in's lifetime as its pages say it: "5 minutes", "90 seconds"."""
    if seconds % 60:
        return f"{seconds} seconds"
    return "1 minute" if seconds == 60 else f"{seconds // 60} minutes"


def timed_out(seconds: int) -> Ended:
    return Ended(f"This sign-in timed out: it has to be finished within {in_words(seconds)}, as Microsoft stops "
                 "waiting for it then. Nothing was approved. Go back to the app you were signing in to and start "
                 "again.")


@dataclass(frozen=True)
class Option:
    value: str  # "<factor sid>:<channel>", what the person's form posts back
    factor_sid: str
    channel: str  # sms, call, call_approve, totp
    kind: str  # mobile, alternate, office, app
    masked: str  # the number as the page shows it; empty for an app


@dataclass(frozen=True)
class SignIn:
    id: str
    fields: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.fields.get(name, "")

    @property
    def seconds_left(self) -> int:
        return max(0, int(float(self["ex"]) - time.time()))


@dataclass(frozen=True)
class Answer:
    redirect_uri: str
    fields: dict[str, str]  # what is posted: id_token and state, or error, error_description and state

    @property
    def approved(self) -> bool:
        return "id_token" in self.fields


@dataclass(frozen=True)
class Outcome:
    """What a step left: `answer` when the sign-in is answered, else the page to show."""
    page: str  # methods, code, calling, wait, answer
    message: str = ""
    retry_after: int = 0
    answer: Answer | None = None


class Eam:
    def __init__(self, settings, issuer: str, keys: SigningKeys, microsoft: MicrosoftKeys, store: EamStore,
                 methods: Methods, channels: dict):
        self.settings = settings  # config.EamSettings
        self.issuer = issuer
        self.keys = keys
        self.microsoft = microsoft
        self.store = store
        self.methods = methods
        self.channels = channels  # the channels this deployment can send on

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/eam/authorize",
            "jwks_uri": f"{self.issuer}/eam/jwks",
            "scopes_supported": ["openid"],
            "response_types_supported": ["id_token"],
            "response_modes_supported": ["form_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "acr", "amr"],
            "acr_values_supported": ["possessionorinherence"],
        }

    # -- opening -------------------------------------------------------------------------------
    def open(self, request: AuthorizeRequest) -> tuple[SignIn, list[Option]]:
        """A sign-in for a request whose hint is Entra's, for an allowed tenant, and unspent, with
        the methods it offers (read in the same round trip); else Refused.
        microsoft.Unavailable passes through."""
        now = time.time()
        try:
            hint = self.microsoft.check_hint(request.id_token_hint, self.settings.client_id, now)
        except BadHint as exc:
            log.warning("Entra External MFA: hint refused: %s", exc)
            raise Refused("invalid_request", str(exc)) from None
        service = self.settings.tenants.get(hint.tid)
        if service is None:
            log.warning("Entra External MFA: tenant %s is not in EAM_TENANTS", hint.tid)
            raise Refused("access_denied", "this tenant is not served by this provider")
        signin_id = secrets.token_urlsafe(32)
        lifetime = self.settings.signin_seconds
        fields = {"st": "open", "ex": repr(now + lifetime), "ca": repr(now), "tid": hint.tid, "oid": hint.oid,
                  "sub": hint.sub, "no": request.nonce, "os": request.state, "ru": request.redirect_uri,
                  "ci": request.client_id, "acr": request.acr, "amr": ",".join(request.amr), "sv": service,
                  "fa": "", "ch": "", "cs": "", "vs": "", "wc": "0"}
        digest = hashlib.sha256(request.id_token_hint.encode()).hexdigest()
        reads = [self.methods.entities.store.methods_read(service, hint.oid)] if valid_identity(hint.oid) else []
        opened, found = self.store.open_signin(signin_id, digest, fields, HINT_MAX_AGE + CLOCK_SKEW + 60, lifetime,
                                               *reads)
        if not opened:
            log.warning("Entra External MFA: a hint was presented again")
            raise Refused("invalid_request", "id_token_hint has been used already")
        log.info("Entra External MFA: sign-in opened for tenant %s", hint.tid)
        signin = SignIn(signin_id, fields)
        return signin, self._options(signin, *found[0]) if found else []

    def get(self, signin_id: str) -> SignIn:
        fields = self.store.signin(signin_id) if signin_id and len(signin_id) <= 64 else None
        if fields is None:
            raise Ended("This sign-in is not known here, or it ended long ago.")
        signin = SignIn(signin_id, fields)
        if fields["st"] != "open":
            raise Ended(FINISHED)
        if float(fields["ex"]) <= time.time():
            raise timed_out(self.settings.signin_seconds)
        return signin

    # -- the person's methods ------------------------------------------------------------------
    def options(self, signin: SignIn) -> list[Option]:
        """The person's usable methods, their default factor first; [] without an entity."""
        identity, service = signin["oid"], signin["sv"]
        if not valid_identity(identity):
            return []
        return self._options(signin, *self.methods.entities.store.methods(service, identity))

    def _options(self, signin: SignIn, entity: dict[str, str] | None, factors: list[dict[str, str]]) -> list[Option]:
        if entity is None:
            return []
        accepted = set(filter(None, signin["amr"].split(",")))
        factors = [f for f in factors if f.get("st") == "verified"]
        factors.sort(key=lambda f: f["sid"] != entity.get("df"))
        found = []
        for factor in factors:
            for channel, kind, number in self._channels(factor):
                if (not accepted or AMR[channel] in accepted) and (channel == "totp" or channel in self.channels):
                    found.append(Option(f"{factor['sid']}:{channel}", factor["sid"], channel, kind, number))
        return found

    @staticmethod
    def _channels(factor: dict) -> list[tuple[str, str, str]]:
        if factor["ty"] == "totp":
            return [("totp", "app", "")]
        if factor["ty"] != "phone":
            return []
        preferred, kind = factor["pc"], factor["kd"]
        call = preferred if preferred in ("call", "call_approve") else "call_approve"
        channels = [preferred] + [c for c in KINDS[kind] if c == "sms" and c != preferred] + \
            ([call] if call != preferred else [])
        return [(channel, kind, phone.for_person(factor["pn"])) for channel in channels]

    def option(self, signin: SignIn, value: str) -> Option | None:
        return next((o for o in self.options(signin) if o.value == value), None)

    # -- the steps -----------------------------------------------------------------------------
    def start(self, signin: SignIn, option: Option) -> Outcome:
        """Use `option`: an app asks for its code; a phone's challenge texts or calls."""
        # The method is recorded first: a refused start's page offers it again ("Try again").
        self._step(signin, {"fa": option.factor_sid, "ch": option.channel, "cs": "", "vs": ""})
        if option.channel == "totp":
            return Outcome("code")
        try:
            # The call or code ends with the sign-in: a # pressed after Entra stopped waiting hears
            # that the request is no longer active, not that it approved a sign-in nobody awaits.
            challenge = self.methods.challenges.create(signin["sv"], signin["oid"], option.factor_sid, None, None,
                                                       {"message": "Microsoft Entra sign-in"}, None,
                                                       channel=option.channel, ends_by=float(signin["ex"]))
        except VerifyError as error:
            return self._refused(signin, error)
        self._step(signin, {"cs": challenge.sid, "vs": challenge.verification_sid or ""})
        return Outcome("calling" if option.channel == "call_approve" else "code")

    def submit_code(self, signin: SignIn, code: str) -> Outcome:
        code = "".join(code.split())[:10]
        if not signin["fa"] or signin["ch"] == "call_approve":
            return Outcome("methods")
        if not code.isdigit():
            return Outcome("code", "Enter the digits of the code.")
        try:
            if signin["ch"] == "totp":
                status = self.methods.challenges.create(signin["sv"], signin["oid"], signin["fa"], code, None,
                                                        {"message": "Microsoft Entra sign-in"}, None).status
            else:
                status = self.methods.challenges.update(signin["sv"], signin["oid"], signin["cs"], code).status
        except VerifyError as error:
            return self._refused(signin, error)
        if status == "approved":
            return self.approve(signin)
        if status == "pending":
            _, wrong = self._step(signin, {}, wrong_code=True)
            if wrong >= MAX_WRONG_CODES:
                return self.refuse(signin, "access_denied", "too many wrong codes",
                                   "That was the last try: too many wrong codes were entered.")
            return Outcome("code", "That code isn't right. Check it and try again.")
        return self._ended_challenge(signin, status)

    def status(self, signin: SignIn) -> str:
        """The phone challenge's status: pending, approved, denied, expired ('none' without one),
        or 'unanswered' when its approve call ended without a decision (no answer, busy, no key,
        hung up, voicemail): the person then tries again or another way."""
        if not signin["cs"]:
            return "none"
        try:
            challenge, verification = self.methods.challenges.watch(signin["sv"], signin["oid"], signin["cs"],
                                                                    signin["vs"])
        except VerifyError as error:
            if error.status == 404:
                return "expired"
            raise
        if challenge.channel == "call_approve" and verification is not None and \
                verification.call_outcome in UNANSWERED:
            return "unanswered"
        return challenge.status

    def check(self, signin: SignIn) -> Outcome:
        """Where a call stands: answered once it approved or was reported, else the page again."""
        status = self.status(signin)
        if status == "approved":
            return self.approve(signin)
        if status == "pending":
            return Outcome("calling" if signin["ch"] == "call_approve" else "code")
        if status == "none":
            return Outcome("methods")
        return self._ended_challenge(signin, status)

    def _ended_challenge(self, signin: SignIn, status: str) -> Outcome:
        if status == "denied":
            return self.refuse(signin, "access_denied", "the person reported the call as fraud",
                               "You reported this call as not yours, so this sign-in is refused and this phone is "
                               "blocked for sign-in. If someone else is trying to sign in as you, tell your IT "
                               "help desk.")
        return Outcome("methods", "That attempt ended without approval (it was not answered in time, or it "
                       "expired). Try again, or use a different method.")

    def _refused(self, signin: SignIn, error: VerifyError) -> Outcome:
        """The core's refusal, in words for the person, and what they can do next."""
        retry = error.headers.get("Retry-After")
        if error.code == errors.MAX_CHECKS:
            if retry:
                return self.refuse(signin, "access_denied", "the phone is locked out",
                                   "Too many wrong codes were entered for this phone, so it is locked for a while.")
            return self.refuse(signin, "access_denied", "too many wrong codes",
                               "That was the last try: too many wrong codes were entered.")
        if error.code == errors.CHALLENGE_MAX_ATTEMPTS:
            return self.refuse(signin, "access_denied", "too many wrong codes",
                               "That was the last try: too many wrong codes were entered.")
        if retry and retry.isdigit():
            return Outcome("wait", "We can't send another code or call just yet.", retry_after=int(retry))
        if error.status == 503:
            return self.refuse(signin, "temporarily_unavailable", "the phone network could not be reached",
                               "We couldn't reach the phone network just now. Please try again in a few minutes.")
        if error.code == errors.DELIVERY_BLOCKED and "fraud" in error.message:
            return Outcome("methods", "This phone was reported as receiving calls its owner didn't ask for, so it "
                           "is blocked for sign-in. Use a different method, or ask your IT help desk.")
        if error.code in (errors.DELIVERY_BLOCKED, errors.FRAUD_GUARD):
            return Outcome("methods", "We can't reach this phone for sign-in. Use a different method, or ask your "
                           "IT help desk.")
        log.warning("Entra External MFA: a step was refused: %s %s", error.code, error.message)
        return Outcome("methods", "That method can't be used right now. Use a different method.")

    def _step(self, signin: SignIn, fields: dict[str, str], wrong_code: bool = False) -> tuple[str, int]:
        outcome, wrong = self.store.step(signin.id, time.time(), fields, wrong_code)
        if outcome == "expired":
            raise timed_out(self.settings.signin_seconds)
        if outcome != "ok":
            raise Ended(FINISHED)
        signin.fields.update(fields)
        return outcome, wrong

    # -- the answer ----------------------------------------------------------------------------
    def approve(self, signin: SignIn) -> Outcome:
        now = time.time()
        outcome, fields = self.store.answer(signin.id, now, "approved")
        if outcome == "expired":
            raise timed_out(self.settings.signin_seconds)
        if outcome != "answered":
            raise Ended(FINISHED)
        claims = {"iss": self.issuer, "aud": fields["ci"], "sub": fields["sub"], "nonce": fields["no"],
                  "iat": int(now), "nbf": int(now), "exp": int(now) + TOKEN_SECONDS, "acr": fields["acr"],
                  "amr": [AMR[fields["ch"]]]}
        token = self.keys.sign(claims, now)
        log.info("Entra External MFA: sign-in approved for tenant %s (amr %s)", fields["tid"], AMR[fields["ch"]])
        return Outcome("answer", answer=Answer(fields["ru"], {"id_token": token, "state": fields["os"]}))

    def refuse(self, signin: SignIn, error: str, description: str, message: str) -> Outcome:
        """Answer the sign-in with an OIDC error; `message` tells the person why."""
        outcome, fields = self.store.answer(signin.id, time.time(), error)
        if outcome != "answered":
            raise Ended(FINISHED)
        log.info("Entra External MFA: sign-in refused for tenant %s: %s", fields["tid"], description)
        return Outcome("answer", message, answer=Answer(fields["ru"], {"error": error, "error_description":
                                                                       description, "state": fields["os"]}))


def build_eam(settings, redis_client, methods: Methods, channels: dict) -> Eam:
    """The Eam of a deployment whose `settings` (config.Settings) turn Entra External MFA on."""
    issuer = settings.public_base_url.rstrip("/")
    store = EamStore(redis_client)
    keyring = Keyring(settings.secret_key, settings.secret_key_previous, PURPOSE)
    keys = SigningKeys(store, keyring, issuer, settings.eam.key_rollover_seconds)
    return Eam(settings.eam, issuer, keys, MicrosoftKeys(settings.eam.microsoft_discovery_url), store, methods,
               channels)
