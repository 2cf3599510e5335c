"""The URLs Twilio calls back about one send attempt, built and read back in one place.

Each names the attempt in its query: `service`, `verification` and `attempt`, then whatever
the route adds (a call's step and round). Twilio signs the URL exactly as it was given, and
the signature check covers the query, so what is read back is what telverify wrote.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlencode

from .. import sids
from ..logs import current_request_id

_ATTEMPT = re.compile(r"[1-9][0-9]{0,2}")


@dataclass(frozen=True)
class AttemptRef:
    """Which send attempt of which verification a callback is about."""
    service_sid: str
    verification_sid: str
    attempt: int


def callback_url(base_url: str, path: str, ref: AttemptRef, **extra) -> str:
    """`base_url` + `path` (e.g. "/voice/answer") with the attempt, `extra`, and the id of the
    request that sent it (`rid`: its webhooks log under it, verify/logs.py) in the query."""
    # Sids and the attempt number are URL-safe as they are (callers pass validated ones), and so
    # are the extras when they are plain words and numbers (step names, rounds): urlencode costs
    # a noticeable part of a TwiML webhook, which builds several of these URLs, so only anything
    # else goes through it.
    query = f"service={ref.service_sid}&verification={ref.verification_sid}&attempt={int(ref.attempt)}"
    if extra:
        if all(str(value).isascii() and str(value).isalnum() for value in extra.values()):
            query += "".join(f"&{name}={value}" for name, value in extra.items())
        else:
            query += "&" + urlencode(extra)
    request_id = current_request_id()
    if request_id:
        query += f"&rid={request_id}"  # REQUEST_ID's characters are URL-safe
    return f"{base_url}{path}?{query}"


def attempt_of(query: Mapping[str, str]) -> AttemptRef | None:
    """The attempt a callback's query names; None when it names none we could have written."""
    service_sid, sid = query.get("service", ""), query.get("verification", "")
    attempt = query.get("attempt", "")
    if not (sids.is_sid(service_sid, sids.SERVICE) and sids.is_sid(sid, sids.VERIFICATION)
            and _ATTEMPT.fullmatch(attempt)):
        return None
    return AttemptRef(service_sid, sid, int(attempt))
