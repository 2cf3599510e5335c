"""Phone numbers: parsing to E.164 with `phonenumbers`, line types, masking for logs."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberType

from .errors import invalid

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "it must start with + and a country calling code",
    NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}


@dataclass(frozen=True)
class Destination:
    e164: str
    region: str | None  # ISO 3166 region, e.g. "US", or None for non-geographic numbers
    line_type: int
    extension: str | None
    calling_code: int  # e.g. 44
    national_number: int  # as phonenumbers keeps it (no leading zero)

    @property
    def is_fixed_line(self) -> bool:
        return self.line_type == PhoneNumberType.FIXED_LINE


def _parsed(raw: str, parameter: str = "To") -> tuple[phonenumbers.PhoneNumber, str]:
    """The number as `phonenumbers` reads it, and its E.164 form (a trunk prefix written after
    the country code, as in +44 0 7400..., is dropped); raise 60200 saying what is wrong with
    `parameter`."""
    text = (raw or "").strip()
    if raw and raw[0] == " " and text[:1].isdigit():
        # A "+" sent unencoded in a form (curl -d To=+44...) arrives as a space.
        text = "+" + text
    if not text:
        raise invalid(f"Invalid parameter `{parameter}`: it is required, as an E.164 number such as +15017122661.")
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "it cannot be read as a phone number")
        raise invalid(f"Invalid parameter `{parameter}`: '{mask(text)}' is not a valid phone number: "
                      f"{reason}.") from exc
    return number, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse(raw: str, parameter: str = "To") -> Destination:
    """Parse `To` (or another `parameter`) as an international number; raise 60200 saying what
    is wrong."""
    number, e164 = _parsed(raw, parameter)
    if not phonenumbers.is_valid_number(number):
        reason = {
            phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
            phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "it is too short (an area code is missing?)",
            phonenumbers.ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
            phonenumbers.ValidationResult.TOO_LONG: "it is too long",
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "its country calling code does not exist",
        }.get(phonenumbers.is_possible_number_with_reason(number), "no such number exists in its numbering plan")
        raise invalid(f"Invalid parameter `{parameter}`: {mask(e164)} is not a valid phone number: {reason}.")
    return Destination(
        e164=e164,
        region=phonenumbers.region_code_for_number(number),
        line_type=phonenumbers.number_type(number),
        extension=number.extension or None,
        calling_code=number.country_code,
        national_number=number.national_number,
    )


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@functools.lru_cache(maxsize=None)  # one per country calling code
def _national_prefix(calling_code: int) -> re.Pattern | None:
    """What `phonenumbers` strips as a national (trunk) prefix after this calling code, as it
    reads it while parsing; None where it strips nothing."""
    region = phonenumbers.region_code_for_country_code(calling_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, region)
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else None


def _as_parse_writes_it(text: str) -> bool:
    """Whether `text`, already shaped as E.164, is exactly what parse() would make of it: its
    calling code (found as `phonenumbers` finds it, the first of 1 to 3 digits that is one) is
    not followed by anything `phonenumbers` would strip as a national prefix. Then nothing
    else changes (leading zeros of the national number are kept), so the parse is skipped."""
    if not _E164.fullmatch(text):
        return False
    for length in (1, 2, 3):
        calling_code = int(text[1:1 + length])
        if calling_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            prefix = _national_prefix(calling_code)
            return prefix is None or prefix.match(text, 1 + length) is None
    return False


def normalize(raw: str) -> str:
    """E.164 for looking a number up (checks, the SafeList, blocks): the same reading of the
    number as a send's (parse), so one number written two ways is one number everywhere, but
    without its validity and line-type work, which is what costs time in `phonenumbers`; a
    number telverify could not have sent to is simply not found. A number already written as
    parse() writes it (nearly every lookup) is not parsed again."""
    text = (raw or "").strip()
    if _as_parse_writes_it(text):
        return text
    return _parsed(raw)[1]


def mask(number: str) -> str:
    """Keep the country code's neighbourhood and the last two digits: enough to tell calls apart."""
    digits = re.sub(r"[^\d+]", "", number or "")
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


# A phone number inside someone else's text (a carrier's or Twilio's error message): 7 to 15
# digits, written together or with spaces, dots, dashes or brackets between them ("+1 (415)
# 555-0100"), after a +, a URL-encoded + (%2B), or anything but a letter or digit (so never the
# digits inside a sid).
_NUMBER_IN_TEXT = re.compile(r"(\+|%2[Bb]|(?<![\w+]))(\d(?:[ .()-]{0,2}\d){6,14})(?!\w)")


def _mask_found(found: re.Match) -> str:
    plus, number = found.groups()
    if not plus:
        return mask(number)
    return plus + mask("+" + number)[1:]


def mask_numbers(text: str) -> str:
    """`text` with every number in it that looks like a phone number masked: for messages
    written by others (Twilio's refusals name the number), which telverify logs and answers."""
    return _NUMBER_IN_TEXT.sub(_mask_found, text or "")


class Masked:
    """A number in a log line, masked only when the line is written (the hot paths log at INFO)."""
    __slots__ = ("number",)

    def __init__(self, number: str):
        self.number = number

    def __str__(self) -> str:
        return mask(self.number)


def for_person(e164: str) -> str:
    """A number for the person's page, "+44 •••• ••••00": the calling code and the last two digits."""
    try:
        number = phonenumbers.parse(e164, None)
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        head = f"+{number.country_code}"
    except phonenumbers.NumberParseException:
        return "•" * 6
    body = text[len(head):]
    digits = sum(c.isdigit() for c in body)
    seen, shown = 0, []
    for c in body:
        if c.isdigit():
            seen += 1
            c = c if seen > digits - 2 else "•"
        shown.append(c)
    return head + "".join(shown)
