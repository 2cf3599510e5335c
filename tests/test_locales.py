"""One list of languages (verify.locales.LANGUAGES): every text, every call sentence and voice,
and the VOICE_NAMES setting cover exactly those, and a Locale or a country picks among them."""
from __future__ import annotations

import pytest

from config import load_settings
from sms.texts import CODE_MESSAGE, DO_NOT_SHARE, code_message
from tests.support import make_env
from verify import locales
from verify.errors import VerifyError
from voice.speech import DEFAULT_VOICES, LANGUAGE_TAGS, PHRASES


@pytest.mark.parametrize("table", [CODE_MESSAGE, DO_NOT_SHARE, PHRASES, LANGUAGE_TAGS, DEFAULT_VOICES],
                         ids=["sms code", "sms do-not-share", "call phrases", "call language tags", "call voices"])
def test_every_language_is_spoken_everywhere(table):
    assert tuple(table) == locales.LANGUAGES


def test_every_language_has_every_call_sentence():
    sentences = set(PHRASES["en"])
    assert all(set(PHRASES[language]) == sentences for language in locales.LANGUAGES)


@pytest.mark.parametrize("language", locales.LANGUAGES)
def test_each_language_sends_its_own_text(language):
    text = code_message(language, "Acme", "123456", do_not_share=True)
    assert "123456" in text and "Acme" in text
    assert text.startswith(CODE_MESSAGE[language].split("{")[0])


def test_voice_names_accept_only_the_languages_spoken():
    env = make_env("redis://127.0.0.1:6399/0", "http://127.0.0.1:9", "https://verify.example.com")
    settings = load_settings({**env, "VOICE_NAMES": "pt=Polly.Ines"})
    assert settings.voice_names == {"pt": "Polly.Ines"}
    with pytest.raises(Exception, match="VOICE_NAMES.*en, es, fr, de, pt"):
        load_settings({**env, "VOICE_NAMES": "it=Polly.Carla"})


@pytest.mark.parametrize("requested, region, expected", [
    ("pt-BR", "US", "pt"), (None, "MX", "es"), (None, "AT", "de"), (None, "SN", "fr"), (None, "JP", "en"),
    (None, None, "en"), ("EN_gb", "FR", "en"),
])
def test_the_locale_asked_for_wins_over_the_country(requested, region, expected):
    assert locales.resolve(requested, region) == expected


def test_a_language_not_spoken_is_refused_by_name():
    with pytest.raises(VerifyError, match="'it' is not supported; telverify speaks en, es, fr, de, pt"):
        locales.resolve("it", "IT")
