"""Which language a person hears or reads: the `Locale` asked for, else their number's country."""
from __future__ import annotations

import re

from .errors import invalid

# Every language telverify speaks: the texts (sms/texts.py), the calls' sentences and voices
# (voice/speech.py), VOICE_NAMES and the people's pages (verify/portal/translations/) cover each
# of these, and only these.
LANGUAGES = ("en", "es", "fr", "de", "pt")

# Countries whose main language we speak; every other country gets English.
_COUNTRY_LANGUAGE = {
    **dict.fromkeys("ES MX AR CO CL PE VE EC GT CU BO DO HN PY SV NI CR PA UY PR GQ".split(), "es"),
    **dict.fromkeys("FR MC LU SN CI ML BF NE TG BJ CM GA CG CD MG RE GP MQ GF PF NC".split(), "fr"),
    **dict.fromkeys("DE AT LI".split(), "de"),
    **dict.fromkeys("PT BR AO MZ CV GW ST TL".split(), "pt"),
}


def resolve(requested: str | None, region: str | None) -> str:
    if requested:
        match = re.fullmatch(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]{2,8})?", requested.strip())
        language = match.group(1).lower() if match else None
        if language not in LANGUAGES:
            raise invalid(f"Invalid parameter `Locale`: '{requested[:20]}' is not supported; "
                          f"telverify speaks {', '.join(LANGUAGES)}.")
        return language
    return _COUNTRY_LANGUAGE.get(region or "", "en")
