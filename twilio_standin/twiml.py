"""Executes TwiML for a live call the way Twilio does: verbs in order, a
<Gather> or <Redirect> (or a REST update) swapping in the next document, the
end of a document hanging up, and any webhook failure turning into Twilio's
spoken "application error" followed by a hang-up.

Verbs take (scaled) time, so a caller can press keys into a <Gather>'s
prompts, hang up mid-sentence or be redirected mid-Pause.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .livecall import HungUp, Redirected

if TYPE_CHECKING:
    from .callrun import CallRun

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
SECONDS_PER_WORD = 0.35
PLAY_SECONDS = 1.0
MAX_LOOPS = 1000  # loop="0" means "until the call ends"; Twilio caps it too
PROMPTS = ("Say", "Play", "Pause")


class AppError(Exception):
    """The TwiML could not be fetched or understood."""


def _int(value: str | None, default: int | None, minimum: int = 0) -> int | None:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number is None or number >= minimum else default


class TwimlSession:
    def __init__(self, run: "CallRun") -> None:
        self.run = run
        self.call = run.call

    def execute(self, source: dict) -> None:
        """source: {"twiml": text} or {"url", "method", "params"?} to fetch.
        Returns only by raising HungUp: every path ends the call."""
        self.run.in_twiml = True
        try:
            while source is not None:
                try:
                    document, url = self._load(source)
                    source = self._run(document, url)
                except Redirected:
                    source = self.call.take_pending()
                    self.call.record("redirect", by="api", url=source.get("url"))
        except AppError as exc:
            self.run.in_twiml = False
            self._application_error(str(exc))
        self.call.end("app")  # the document ran out: Twilio hangs up
        raise HungUp

    def _load(self, source: dict) -> tuple[ET.Element, str | None]:
        if "twiml" in source:
            text, url = source["twiml"], None
        else:
            url, method = source["url"], source.get("method") or "POST"
            outcome, text = self.run.fetch(url, method, source.get("params"))
            if outcome["error"]:
                raise AppError(f"{method} {url} failed: {outcome['error']}")
            if not 200 <= outcome["http_status"] < 300:
                raise AppError(f"{method} {url} answered HTTP {outcome['http_status']}")
        try:
            root = ET.fromstring(text or "")
        except ET.ParseError as exc:
            raise AppError(f"document from {url or 'Twiml'} is not valid XML: {exc}") from None
        if root.tag != "Response":
            raise AppError(f"document from {url or 'Twiml'} has root <{root.tag}>, "
                           "not <Response>")
        return root, url

    def _run(self, document: ET.Element, url: str | None) -> dict | None:
        """Run one document; return the next source, or None at its end."""
        for verb in document:
            with self.call.cond:
                self.run.check()
            tag = verb.tag
            if tag in PROMPTS:
                self._prompt(verb, barge=False)
            elif tag == "Gather":
                following = self._gather(verb, url)
                if following is not None:
                    return following
            elif tag == "Redirect":
                if not (verb.text or "").strip():
                    raise AppError("<Redirect> without a URL")
                target = self._resolve(url, verb.text.strip(), "Redirect")
                self.call.record("redirect", by="app", url=target)
                return {"url": target, "method": (verb.get("method") or "POST").upper()}
            elif tag in ("Hangup", "Reject"):
                self.call.end("app")
                raise HungUp
            else:
                self.call.record("unknown", verb=tag)
        return None

    def _prompt(self, verb: ET.Element, barge: bool) -> bool:
        """Say / Play / Pause; True if a key press cut it short (barge-in)."""
        loops = _int(verb.get("loop"), 1) or MAX_LOOPS
        speaking = None
        if verb.tag == "Say":
            text = (verb.text or "").strip()
            speaking = {"text": text, "voice": verb.get("voice"),
                        "language": verb.get("language"), "loop": loops}
            self.call.record("say", **speaking)
            seconds = len(text.split()) * SECONDS_PER_WORD * loops
        elif verb.tag == "Play":
            self.call.record("play", url=(verb.text or "").strip(), digits=verb.get("digits"))
            seconds = PLAY_SECONDS * loops
        else:
            length = _int(verb.get("length"), 1)
            self.call.record("pause", length=length)
            seconds = length
        if speaking is None:
            return self.run.sleep(seconds, keys=barge) == "keys"
        # `speaking` is what the callee hears right now (the dev phone shows it)
        self.call.update_record(speaking=speaking)
        try:
            return self.run.sleep(seconds, keys=barge) == "keys"
        finally:
            self.call.update_record(speaking=None)

    def _gather(self, verb: ET.Element, url: str | None) -> dict | None:
        run, attrs = self.run, dict(verb.attrib)
        timeout = _int(attrs.get("timeout"), 5)
        num_digits = _int(attrs.get("numDigits"), None, minimum=1)
        finish = attrs.get("finishOnKey", "#")
        dtmf = "dtmf" in attrs.get("input", "dtmf").lower().split()
        timer = run.begin_gather(attrs, dtmf)
        digits, ended = "", None
        try:
            for child in verb:
                if child.tag not in PROMPTS:
                    self.call.record("unknown", verb=child.tag, within="Gather")
                elif self._prompt(child, barge=True):
                    break  # the first key stops the prompts
            last = run.clock  # timeout counts from the prompts' end, then each key
            while ended is None:
                for keys, when in run.take_keys():
                    last = max(last, when)
                    for key in keys:
                        if finish and key == finish:  # ends the Gather, not part of Digits
                            ended = "finish_key"
                            break
                        digits += key
                        if num_digits and len(digits) >= num_digits:
                            ended = "num_digits"
                            break
                    if ended:
                        break  # keys after the end of the Gather are lost
                if ended is None and run.wait(last + run.scaled(timeout), keys=True) == "timeout":
                    ended = "timeout"
        except (HungUp, Redirected) as exc:
            ended = "hangup" if isinstance(exc, HungUp) else "redirect"
            raise
        finally:
            run.end_gather(timer)
            self.call.record("gather", attributes=attrs, digits=digits or None, ended=ended)
        if not digits and attrs.get("actionOnEmptyResult", "").lower() != "true":
            return None  # no input: on to the next verb
        action = self._resolve(url, attrs.get("action", ""), "Gather action")
        return {"url": action, "method": (attrs.get("method") or "POST").upper(),
                "params": {"Digits": digits,
                           "FinishedOnKey": finish if ended == "finish_key" else ""}}

    def _resolve(self, base: str | None, ref: str, what: str) -> str:
        """Relative URLs resolve against the current document's URL (an empty
        Gather action means that URL itself)."""
        if urlsplit(ref).scheme:
            return ref
        if base is None:
            raise AppError(f"{what} {ref!r} is relative, but the TwiML came inline (Twiml)")
        return urljoin(base, ref) if ref else base

    def _application_error(self, detail: str) -> None:
        self.call.record("application_error", detail=detail)
        say = ET.Element("Say")
        say.text = APPLICATION_ERROR
        self._prompt(say, barge=False)
