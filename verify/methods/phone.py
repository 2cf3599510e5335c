"""The `phone` factor type (telverify's): a phone number a person signs in with, as Microsoft's
Security info keeps them: a mobile phone, an alternate phone, an office phone with its extension.

The number (`Binding.PhoneNumber`) is read and judged as a verification's `To` is: a number
telverify would refuse to call or text for this service (invalid, premium-rate and the like, a
country outside the geo permissions, blocked after a fraud report) is refused here too. The kind
decides the channels a challenge may use (KINDS). The full number is answered once, in the new
factor's `binding`; afterwards `config` shows it masked (`display`), so that an API key which
leaks does not list people's numbers. A challenge of a phone factor starts a verification to it
(phone_challenges.py), and its first approved challenge verifies the factor.
"""
from __future__ import annotations

import re

import phonenumbers

from .. import errors
from ..verifications import Verifications

NAME = "phone"
# Which channels reach each kind: a text only to a mobile.
KINDS = {"mobile": ("sms", "call", "call_approve"), "alternate": ("call", "call_approve"),
         "office": ("call", "call_approve")}
DEFAULT_CHANNEL = {"mobile": "sms", "alternate": "call", "office": "call_approve"}
EXTENSION = re.compile(r"[0-9]{1,10}")


def channel_for(kind: str, channel: str, parameter: str) -> str:
    """`channel` when a phone of this kind can be reached by it; else 60200 naming `parameter`."""
    if channel not in KINDS[kind]:
        article = "an" if kind[0] in "aeiou" else "a"
        raise errors.invalid(f"Invalid parameter `{parameter}`: {article} {kind} phone is reached by "
                             f"{' or '.join(KINDS[kind])}, not '{channel[:20]}'.")
    return channel


def display(e164: str) -> str:
    """The number masked for answers, as people read it: the calling code, the first national
    digit and the last three (two of a short number) shown, "+44 7*** ***456"."""
    number = phonenumbers.parse(e164, None)
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    head = f"+{number.country_code}"
    national = sum(c.isdigit() for c in text) - len(head) + 1
    tail = 3 if national >= 8 else 2
    shown, seen = [], 0
    for c in text[len(head):]:
        if c.isdigit():
            seen += 1
            c = c if seen == 1 or seen > national - tail else "*"
        shown.append(c)
    return head + "".join(shown)


class PhoneMethod:
    """What factors.py asks of a factor type (as totp.TotpMethod): its stored fields, its answer."""

    name = NAME
    options = ("phone_number", "extension", "kind", "channel")
    takes_codes = False  # verified by its first approved challenge, not by AuthPayload

    def __init__(self, verifications: Verifications):
        self.verifications = verifications

    def new(self, factor_sid: str, service: dict, friendly_name: str, options: dict) -> tuple[dict, dict]:
        """(the factor's stored fields, its binding: the number in full, answered once)."""
        kind = options.get("kind")
        if kind is None:
            raise errors.invalid(f"Missing required parameter `Config.Kind`: {', '.join(KINDS)}.")
        if kind not in KINDS:
            raise errors.invalid(f"Invalid parameter `Config.Kind`: one of {', '.join(KINDS)}.")
        channel = channel_for(kind, options.get("channel") or DEFAULT_CHANNEL[kind], "Config.Channel")
        if not options.get("phone_number"):
            raise errors.invalid("Missing required parameter `Binding.PhoneNumber`: an E.164 number such as "
                                 "+15017122661 (an office phone's extension after an x: +15017122661x123).")
        destination = self.verifications.judge(service["sid"], options["phone_number"], "Binding.PhoneNumber")
        extension = options.get("extension")
        if extension is not None and not EXTENSION.fullmatch(extension):
            raise errors.invalid("Invalid parameter `Binding.Extension`: 1 to 10 digits.")
        if extension and destination.extension:
            raise errors.invalid("Give the extension either in `Binding.PhoneNumber` (x123) or in "
                                 "`Binding.Extension`, not both.")
        extension = extension or destination.extension
        if extension and kind != "office":
            raise errors.invalid(f"Invalid parameter `Binding.Extension`: only an office phone has an extension, "
                                 f"not a {kind} phone.")
        if extension and not EXTENSION.fullmatch(extension):
            raise errors.invalid("Invalid parameter `Binding.PhoneNumber`: its extension is 1 to 10 digits.")
        reaching = self.verifications.channels.get(channel)
        refusal = reaching.refuse(destination, service) if reaching else None
        if refusal:  # a text to a landline called mobile
            raise refusal
        fields = {"pn": destination.e164, "px": extension or "", "kd": kind, "pc": channel}
        return fields, {"phone_number": destination.e164, "extension": extension}

    @staticmethod
    def changes(stored: dict, options: dict) -> dict[str, str]:
        if options.get("phone_number") or options.get("extension") or options.get("kind"):
            raise errors.invalid("A phone factor's number, extension and kind cannot change: delete the factor "
                                 "and create another.")
        if options.get("channel") is None:
            return {}
        return {"pc": channel_for(stored["kd"], options["channel"], "Config.Channel")}

    @staticmethod
    def config(stored: dict) -> dict:
        return {"kind": stored["kd"], "channel": stored["pc"], "phone_number": display(stored["pn"]),
                "extension": stored.get("px") or None}
