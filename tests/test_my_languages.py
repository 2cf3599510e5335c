"""/my/'s pages in the five languages calls speak: the catalogues whole and compiled as their
sources say, and the pages in the language the browser asks for (German, French with a region,
a language we do not speak), countries named in it, refusals said in it."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import requests
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.support import MY_PASSWORD, MY_PERSON, ROOT, LiveServer, my_env
from verify.locales import LANGUAGES

TRANSLATIONS = ROOT / "verify" / "portal" / "translations"


def extracted(folder: Path) -> set[str]:
    """The messages the code and templates hold now, extracted as babel.cfg says."""
    pot = folder / "now.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F",
                    str(ROOT / "verify/portal/babel.cfg"), "-k", "Refusal", "-k", "FieldRefusal",
                    "-k", "SignInRefused", "-k", "N_", "--no-location", "-o", str(pot),
                    str(ROOT / "verify/portal")], check=True, cwd=ROOT)
    return {m.id for m in read_po(pot.open("rb")) if m.id}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_each_catalogue_translates_every_message_and_is_compiled(tmp_path, language):
    now = extracted(tmp_path)
    source = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    catalogue = read_po(source.open("rb"), locale=language)
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    assert now - translated == set(), f"{language}: messages with no translation"
    assert {m.id for m in catalogue if m.id} - now == set(), f"{language}: translations of messages gone"
    for message in catalogue:  # a %(name)s or {name} of the English is in the translation too
        if message.id:
            assert set(re.findall(r"%\(\w+\)s|\{\w+\}", message.id)) == \
                set(re.findall(r"%\(\w+\)s|\{\w+\}", message.string)), (language, message.id)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    assert (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").read_bytes() == compiled.getvalue(), \
        f"{language}: messages.mo is not compiled from messages.po (pybabel compile)"


@pytest.fixture
def my_live(redis_url, standin, service):
    with LiveServer(lambda url: my_env(redis_url, standin.base_url, url, service.sid)) as server:
        yield server


def signin_page(live, language: str) -> str:
    return requests.get(f"{live.url}/my/signin", headers={"Accept-Language": language}, timeout=10).text


def test_the_pages_speak_the_browsers_language(my_live):
    german = signin_page(my_live, "de-DE,de;q=0.9,en;q=0.5")
    assert '<html lang="de">' in german and ">Anmelden</button>" in german
    assert "Melden Sie sich an, um Ihre Anmeldemethoden zu verwalten" in german
    french = signin_page(my_live, "fr-CA")
    assert '<html lang="fr">' in french and "Mot de passe" in french
    # Italian is not spoken: English, as for calls.
    italian = signin_page(my_live, "it-IT,it;q=0.9")
    assert '<html lang="en">' in italian and "Sign in to manage your sign-in methods" in italian


def test_countries_and_refusals_in_the_persons_language(my_live):
    browser = requests.Session()
    browser.headers["Accept-Language"] = "de-AT"
    form = browser.get(f"{my_live.url}/my/signin", timeout=10).text
    token = re.search(r'name="token" value="([^"]+)"', form).group(1)
    wrong = browser.post(f"{my_live.url}/my/signin", timeout=10,
                         data={"token": token, "identity": MY_PERSON, "password": "not the password"})
    assert "Name und Passwort passen nicht zusammen" in unescape(wrong.text)
    token = re.search(r'name="token" value="([^"]+)"', wrong.text).group(1)
    browser.post(f"{my_live.url}/my/signin", timeout=10,
                 data={"token": token, "identity": MY_PERSON, "password": MY_PASSWORD})
    page = browser.get(f"{my_live.url}/my/methods/phone/mobile", timeout=10).text
    options = re.findall(r'<option value="([A-Z]*)"( selected)?>([^<]*)</option>', page)
    assert options[0] == ("AT", " selected", "Österreich (+43)")  # the browser's own country first
    names = [name for _, _, name in options[1:]]
    assert "Vereinigtes Königreich (+44)" in names and names.index("Deutschland (+49)") < names.index(
        "Vereinigtes Königreich (+44)")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    refused = browser.post(f"{my_live.url}/my/methods/phone/mobile", timeout=10, data={
        "csrf": csrf, "country": "GB", "number": "12345", "channel": "sms"})
    assert refused.status_code == 400
    assert "Das ist keine Telefonnummer in Vereinigtes Königreich (+44)." in unescape(refused.text)
