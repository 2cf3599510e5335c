"""A phone added from /my/: its country chosen by name and calling code, its number read in that
country's way, the phone factor made, and proven the way Microsoft's pages prove it: a texted
code typed back, or a call answered and # pressed ("Call answered"). A phone of a kind the
person has already but never proved is replaced; a proven one is deleted first.

Every refusal of the core comes back as a Refusal in the person's words, tied to the field it
is about (`field`)."""
from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import geocoder

from .. import errors, phone
from ..errors import VerifyError
from ..methods import Methods
from ..methods.model import Challenge
from .security_info import TITLES, Refusal, SecurityInfo

# What a person may choose for each kind, as Microsoft's pages offer it: a mobile gets a text or
# a call, the others a call; a call is answered by pressing #.
CHANNELS = {"mobile": ("sms", "call_approve"), "alternate": ("call_approve",), "office": ("call_approve",)}


class FieldRefusal(Refusal):
    """A refusal about one field of the form: `field` is its id."""

    def __init__(self, text: str, field: str, **params):
        super().__init__(text, **params)
        self.field = field


@dataclass(frozen=True)
class Country:
    region: str  # ISO 3166-1 alpha-2, as phonenumbers names regions
    name: str
    calling_code: int

    @property
    def label(self) -> str:
        return f"{self.name} (+{self.calling_code})"


@cache
def _all_countries(language: str = "en") -> tuple[Country, ...]:
    """Every region phonenumbers knows, named in `language` (phonenumbers' own names), in that
    language's alphabetical order (near enough: accents folded)."""
    found = [Country(region, geocoder._region_display_name(region, language)
                     or geocoder._region_display_name(region, "en") or region,
                     phonenumbers.country_code_for_region(region))
             for region in phonenumbers.SUPPORTED_REGIONS if region != "001"]
    return tuple(sorted(found, key=lambda country: unicodedata.normalize("NFKD", country.name).casefold()))


def country_label(region: str, language: str = "en") -> str:
    return next((c.label for c in _all_countries(language) if c.region == region), region)


def countries(first: str | None, language: str = "en") -> list[Country]:
    """Every country by name in `language`, the person's own (`first`, a region) first."""
    every = list(_all_countries(language))
    own = [country for country in every if country.region == first]
    return own + [country for country in every if country.region != first]


def e164_of(region: str, number: str, extension: str) -> tuple[str, str]:
    """(the number in E.164, its extension) as the person wrote them for `region`."""
    if not any(country.region == region for country in _all_countries()):
        raise FieldRefusal("Choose your country or region.", "country")
    digits = extension.strip()
    if digits and not (digits.isdigit() and len(digits) <= 10):
        raise FieldRefusal("An extension is up to 10 digits.", "extension")
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        country = next(c for c in _all_countries() if c.region == region)
        raise FieldRefusal("That isn't a phone number in {country}. Check it and try again.", "number",
                           country=country.region)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), digits


@dataclass(frozen=True)
class Proof:
    """A phone being proven: its factor, and the challenge that texted or called it."""
    factor_sid: str
    challenge: Challenge
    kind: str
    masked: str


class Phones:
    def __init__(self, service_sid: str, methods: Methods, info: SecurityInfo):
        self.service_sid = service_sid
        self.methods = methods
        self.info = info

    def add(self, identity: str, kind: str, region: str, number: str, extension: str, channel: str,
            replaces: str = "") -> Proof:
        """A phone of `kind` added and texted or called. With `replaces` (a proven phone of the
        person's, of that kind: "Change"), it replaces that one once it is proven, not before."""
        if kind not in CHANNELS:
            raise Refusal("Choose a kind of phone.")
        if channel not in CHANNELS[kind]:
            raise FieldRefusal("Choose how we reach this phone.", "channel")
        e164, extension = e164_of(region, number, extension if kind == "office" else "")
        if replaces:
            old = self._phone(identity, replaces)
            if old["kd"] != kind or old["st"] != "verified":
                raise Refusal("That phone isn't one of yours any more. Here are the methods you have.")
        self._make_room(identity, kind, replaces)
        options = {"phone_number": e164, "kind": kind, "channel": channel}
        if extension:
            options["extension"] = extension
        action = f"my.{kind}.{'change' if replaces else 'add'}"
        try:
            factor = self.methods.factors.create(self.service_sid, identity, "phone", TITLES[kind], options,
                                                 replaces=replaces or None)
        except VerifyError as error:
            self.info.record(identity, action, error.status)
            raise _in_words(error, "number") from None
        self.info.record(identity, action, 200)
        return self.prove(identity, factor.sid, channel)

    def _make_room(self, identity: str, kind: str, replaces: str) -> None:
        """A phone of this kind never proved is replaced; a proven one must be deleted first, or
        changed (`replaces`)."""
        _, factors = self.methods.entities.store.methods(self.service_sid, identity)
        for stored in factors:
            if stored["ty"] == "phone" and stored["kd"] == kind and stored["sid"] != replaces:
                if stored["st"] == "verified":
                    raise Refusal("You have a phone of this kind already. Delete it first, then add the new one.")
                self.methods.factors.delete(self.service_sid, identity, stored["sid"])

    def prove(self, identity: str, factor_sid: str, channel: str | None = None) -> Proof:
        """Text or call the phone (again): its challenge. A phone being added is proven so; a
        proven one so takes a second step (second_step.py)."""
        factor = self._phone(identity, factor_sid)
        try:
            challenge = self.methods.challenges.create(self.service_sid, identity, factor_sid, None, None,
                                                       {"message": "Security info: a phone added"}, None,
                                                       channel=channel or factor["pc"])
        except VerifyError as error:
            raise _in_words(error, "number") from None
        return Proof(factor_sid, challenge, factor["kd"], phone.for_person(factor["pn"]))

    def proof(self, identity: str, factor_sid: str, challenge_sid: str) -> Proof:
        """Where proving the phone stands."""
        factor = self._phone(identity, factor_sid)
        try:
            challenge = self.methods.challenges.get(self.service_sid, identity, challenge_sid)
        except VerifyError:
            raise Refusal("That attempt isn't known any more. Start again from Security info.") from None
        if challenge.factor_sid != factor_sid:
            raise Refusal("That attempt isn't known any more. Start again from Security info.")
        return Proof(factor_sid, challenge, factor["kd"], phone.for_person(factor["pn"]))

    def finish(self, identity: str, factor_sid: str, challenge_sid: str) -> Proof:
        """`proof`, recorded as `recorded` says."""
        return self.recorded(identity, self.proof(identity, factor_sid, challenge_sid))

    def recorded(self, identity: str, proof: Proof) -> Proof:
        """Once `proof` is approved, the phone recorded as proven (and made the default when the
        person had none, or put in the place of the one it changes)."""
        if proof.challenge.status == "approved":
            self.info.proven(identity, proof.factor_sid, f"my.{proof.kind}.verify")
            self.info.complete_change(identity)
        return proof

    def enter_code(self, identity: str, factor_sid: str, challenge_sid: str, code: str) -> Proof:
        """The proof once the texted code is tried: the challenge as the check left it."""
        code = "".join(code.split())
        if not (code.isdigit() and 4 <= len(code) <= 10):
            raise FieldRefusal("Enter the code from the text: digits only.", "code")
        before = self.proof(identity, factor_sid, challenge_sid)  # this person's challenge, for this phone
        try:
            challenge = self.methods.challenges.update(self.service_sid, identity, challenge_sid, code)
        except VerifyError as error:
            raise _in_words(error, "code") from None
        return dataclasses.replace(before, challenge=challenge)

    def _phone(self, identity: str, factor_sid: str) -> dict[str, str]:
        stored = self.methods.factors.stored(self.service_sid, identity, factor_sid)
        if stored is None or stored["ty"] != "phone":
            raise Refusal("That phone isn't one of yours any more. Here are the methods you have.")
        return stored


def _in_words(error: VerifyError, field: str) -> FieldRefusal:
    """A refusal of the core, for the person adding or using a phone, about `field`."""
    retry = error.headers.get("Retry-After")
    if error.code in (errors.MAX_CHECKS, errors.CHALLENGE_MAX_ATTEMPTS):
        return FieldRefusal("Too many wrong codes were entered. Wait a while, then send a new code.", field)
    if retry and retry.isdigit():
        return FieldRefusal("We can't text or call this phone again just yet. Please wait a while, then try "
                            "again.", field)
    if error.code == errors.DELIVERY_BLOCKED and "fraud" in error.message:
        return FieldRefusal("This phone was reported as getting calls its owner didn't ask for, so it is blocked. "
                            "Ask your IT help desk.", field)
    if error.code in (errors.DELIVERY_BLOCKED, errors.FRAUD_GUARD, errors.LANDLINE):
        return FieldRefusal("We can't text or call this phone. Check the number, or choose another way to reach "
                            "it.", field)
    if error.status == 503:
        return FieldRefusal("We couldn't reach the phone network just now. Please try again in a few minutes.",
                            field)
    return FieldRefusal("We can't use this phone. Check the number and try again.", field)
