"""The TwiML of each moment of a call. Pure: given what to say and where keys go, build it.

Every prompt that waits for a key is a one-key <Gather> with no finish key, so `#` reaches
the webhook as `Digits=#` (with the default finish key a lone `#` is an empty result).
"""
from __future__ import annotations

import functools
from typing import Callable
from xml.sax.saxutils import escape

from twilio.twiml.voice_response import VoiceResponse

from .speech import Speaker, spoken_digits

KEY_TIMEOUT_SECONDS = 6  # after the prompt ends: time to find the key on a desk phone
READINGS = 3  # the code is read three times in all
# Stands for a webhook URL in a cached TwiML text. No name or phrase holds "<" (names are
# refused with one), so its escaped form "&lt;url N&gt;" can only come from here.
_URL_MARK = "<url {}>"


class CallScript:
    def __init__(self, speaker: Speaker, name: str, url: Callable[..., str]):
        self.speaker = speaker
        self.name = name
        self.url = url  # url(route, **params) -> absolute signed-for URL of one of our webhooks

    def twiml(self, moment: str, *args) -> str:
        """The TwiML text of `moment` (one of the methods below, all but read_code: a code is
        never kept). Building it with the `twilio` library is a large part of a webhook's work;
        its text depends only on the speaker, the name and `args`, except for the URLs of this
        call's webhooks. So it is built once per combination, and the URLs filled in."""
        text, urls = _template(moment, self.speaker, self.name, args)
        for index, (route, params) in enumerate(urls):
            marked = escape(_URL_MARK.format(index))
            text = text.replace(marked, escape(self.url(route, **params), {'"': "&quot;"}), 1)
        return text

    def _say(self, node, phrase: str) -> None:
        node.say(self.speaker.text(phrase, self.name), voice=self.speaker.voice, language=self.speaker.language)

    def _say_text(self, node, text: str) -> None:
        node.say(text, voice=self.speaker.voice, language=self.speaker.language)

    def _gather(self, response: VoiceResponse, step: str, round_: int):
        return response.gather(num_digits=1, finish_on_key="", timeout=KEY_TIMEOUT_SECONDS, method="POST",
                               action=self.url("key", step=step, round=round_))

    def inactive(self) -> VoiceResponse:
        response = VoiceResponse()
        self._say(response, "inactive")
        response.hangup()
        return response

    def farewell(self, phrase: str) -> VoiceResponse:
        response = VoiceResponse()
        self._say(response, phrase)
        response.hangup()
        return response

    @staticmethod
    def hang_up() -> VoiceResponse:
        response = VoiceResponse()
        response.hangup()
        return response

    def await_detection(self, round_: int) -> VoiceResponse:
        """Hold the line, saying nothing secret, until we know a person (not a machine) answered."""
        response = VoiceResponse()
        if round_ == 1:
            self._say(response, "greeting")
        response.pause(length=1)
        response.redirect(self.url("step", step="detect", round=round_ + 1), method="POST")
        return response

    def key_gate(self, round_: int) -> VoiceResponse:
        """A key press proves a person is listening before the code is read (DtmfInputRequired)."""
        response = VoiceResponse()
        self._say(self._gather(response, "gate", round_), "gate")
        response.redirect(self.url("step", step="gate", round=round_ + 1), method="POST")
        return response

    def read_code(self, code: str, round_: int) -> VoiceResponse:
        response = VoiceResponse()
        gather = self._gather(response, "code", round_)
        digits = spoken_digits(code)
        for reading in range(READINGS):
            self._say(gather, "code_intro" if reading == 0 else "code_again")
            self._say_text(gather, digits)
            gather.pause(length=1)
        self._say(gather, "repeat_hint")
        self._say(response, "goodbye")
        response.hangup()
        return response

    def approve_prompt(self, round_: int, after_invalid_key: bool = False) -> VoiceResponse:
        response = VoiceResponse()
        gather = self._gather(response, "approve", round_)
        if after_invalid_key:
            self._say(gather, "invalid_key")
        self._say(gather, "approve_first" if round_ == 1 and not after_invalid_key else "approve_again")
        response.redirect(self.url("step", step="approve", round=round_ + 1), method="POST")
        return response

    def fraud_confirm(self, round_: int) -> VoiceResponse:
        response = VoiceResponse()
        self._say(self._gather(response, "fraud", round_), "fraud_confirm")
        response.redirect(self.url("step", step="fraud", round=round_ + 1), method="POST")
        return response


@functools.lru_cache(maxsize=4096)  # moments x rounds x languages x names in use: a few MB at most
def _template(moment: str, speaker: Speaker, name: str, args: tuple) -> tuple[str, tuple]:
    """(TwiML text with a mark for each webhook URL, (route, params) of each URL in order)."""
    if moment == "read_code":
        raise ValueError("the code call's TwiML holds the code: it is never cached")
    urls = []

    def mark(route: str, **params) -> str:
        urls.append((route, params))
        return _URL_MARK.format(len(urls) - 1)
    return str(getattr(CallScript(speaker, name, mark), moment)(*args)), tuple(urls)
