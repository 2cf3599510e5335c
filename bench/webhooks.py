"""The voice webhooks under load: the answer URL and the <Gather> action of approve calls,
as Twilio would POST them, signed with X-Twilio-Signature.

Setup starts real `call_approve` verifications through the API, so each has a call placed
through the stand-in and a CallSid recorded on its attempt; the stand-in's calls are then
dropped (no further webhook), leaving the verifications pending with a live-looking call.
wrk then replays requests signed here in advance (wrk cannot compute HMAC-SHA1), read from
a file by bench/lua/replay.lua.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from services import ACCOUNT_SID, AUTH_TOKEN, BenchError, Stack
from twilio.request_validator import RequestValidator

FROM = "+15017122661"
CHUNK = 250


def start_approve_calls(stack: Stack, service: str, block: str, count: int, auth: tuple) -> list[dict]:
    """`count` pending call_approve verifications with their calls:
    [{to, call_sid, answer_url, verification_sid}]."""
    local = threading.local()
    url = f"{stack.web_url}/v2/Services/{service}/Verifications"

    def one(index: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.auth = auth
        to = f"{block}{index:06d}"
        answer = local.session.post(url, data={"To": to, "Channel": "call_approve"}, timeout=30)
        if answer.status_code != 201:
            raise BenchError(f"setup call {to} failed: {answer.status_code} {answer.text}")

    requests.post(f"{stack.standin_url}/_standin/config", json={"send_delay": 0}, timeout=5).raise_for_status()
    calls, pool = [], ThreadPoolExecutor(16)
    try:
        # In chunks: an unanswered call rings for 30 s and would then end as no-answer.
        for start in range(0, count, CHUNK):
            list(pool.map(one, range(start, min(start + CHUNK, count))))
            calls += requests.get(f"{stack.standin_url}/_standin/calls", timeout=30).json()
            # Drop the calls without a webhook: the verifications stay pending, each with its CallSid.
            requests.delete(f"{stack.standin_url}/_standin/calls", timeout=30).raise_for_status()
    finally:
        pool.shutdown(cancel_futures=True)
    if len(calls) != count:
        raise BenchError(f"setup: {len(calls)} calls reached the stand-in, not {count}")
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
