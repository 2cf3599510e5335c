"""The voice webhooks under load: the answer URL and the <Gather> action of approve calls,
as Twilio would POST them, signed with X-Twilio-Signature.

Setup (bench/run.py) starts real `call_approve` verifications through the API, so each has a
call placed through the stand-in and a CallSid recorded on its attempt; take_calls then drops
the stand-in's calls (no further webhook), leaving the verifications pending.
wrk then replays requests signed here in advance (wrk cannot compute HMAC-SHA1), read from
a file by bench/lua/replay.lua.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from services import ACCOUNT_SID, AUTH_TOKEN, Stack
from twilio.request_validator import RequestValidator

FROM = "+15017122661"


def take_calls(stack: Stack) -> list[dict]:
    """The calls the stand-in placed, dropped without a webhook (the verifications stay
    pending, each with its CallSid): [{to, call_sid, answer_url, verification_sid}]."""
    calls = requests.get(f"{stack.standin_url}/_standin/calls", timeout=30).json()
    requests.delete(f"{stack.standin_url}/_standin/calls", timeout=30).raise_for_status()
    return [{"to": c["to"], "call_sid": c["sid"], "answer_url": c["params"]["Url"],
             "verification_sid": parse_qs(urlsplit(c["params"]["Url"]).query)["verification"][0]} for c in calls]


def write_signed(calls: list[dict], route: str, folder: Path, **extra: str) -> Path:
    """One line per call: path, form body and X-Twilio-Signature, tab-separated, as Twilio
    would POST `route` (answer, or key with Digits) for that call."""
    validator = RequestValidator(AUTH_TOKEN)
    path = folder / f"signed-{route}-{'-'.join(extra.values()) or 'plain'}.tsv"
    with path.open("w") as out:
        for call in calls:
            url = call["answer_url"]
            if route != "answer":  # the key action carries the step it answers, as the TwiML sets it
                url = url.replace("/voice/answer?", f"/voice/{route}?", 1) + "&step=approve&round=1"
            form = {"CallSid": call["call_sid"], "AccountSid": ACCOUNT_SID, "From": FROM, "To": call["to"],
                    "CallStatus": "in-progress", "Direction": "outbound-api", "ApiVersion": "2010-04-01", **extra}
            signature = validator.compute_signature(url, form)
            parts = urlsplit(url)
            out.write(f"{parts.path}?{parts.query}\t{urlencode(form)}\t{signature}\n")
    return path
