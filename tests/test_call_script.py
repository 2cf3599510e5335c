"""CallScript.twiml caches each moment's TwiML and fills in the call's URLs: its text must be
exactly what the `twilio` library builds for that call."""
from __future__ import annotations

import pytest

from voice.script import CallScript
from voice.speech import PHRASES, Speaker

MOMENTS = [("inactive",), ("farewell", "approved"), ("farewell", "no_key"), ("hang_up",),
           ("await_detection", 1), ("await_detection", 4), ("key_gate", 1), ("key_gate", 3),
           ("approve_prompt", 1), ("approve_prompt", 2), ("approve_prompt", 2, True), ("fraud_confirm", 1)]


def script(locale: str, name: str, call: str) -> CallScript:
    def url(route: str, **params) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"https://verify.example.com/base/voice/{route}?service=VA1&verification={call}&attempt=2&{query}"
    return CallScript(Speaker.for_locale(locale, {}), name, url)


@pytest.mark.parametrize("locale", sorted(PHRASES))
@pytest.mark.parametrize("name", ["Acme", "Tom & Jerry's \"Bank\"", "url 0"])
def test_cached_twiml_is_what_the_library_builds(locale, name):
    for moment, *args in MOMENTS:
        for call in ("VEaaaa", "VEbbbb"):  # the second call of a moment comes from the cache
            built = str(getattr(script(locale, name, call), moment)(*args))
            assert script(locale, name, call).twiml(moment, *args) == built, (moment, args)
            assert "url 0" in name or "&lt;url" not in built


def test_each_call_gets_its_own_urls():
    first = script("en", "Acme", "VEaaaa").twiml("approve_prompt", 1)
    second = script("en", "Acme", "VEbbbb").twiml("approve_prompt", 1)
    assert first.count("verification=VEaaaa") == 2 and "VEbbbb" not in first  # <Gather action> and <Redirect>
    assert second.count("verification=VEbbbb") == 2 and "VEaaaa" not in second


def test_a_code_is_never_cached():
    with pytest.raises(ValueError):
        script("en", "Acme", "VEaaaa").twiml("read_code", "123456", 1)
