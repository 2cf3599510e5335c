"""/my/ over real HTTP: the demo directory's sign-in and its limits, the session cookie, CSRF on
every form, and a person's Security info: an authenticator app added and proven with a code
computed from the secret the page shows, the default changed, a method deleted, the last one
kept. The browser's view of the same flows is tests/test_my_browser.py."""
from __future__ import annotations

import re
import time
from html import unescape
from urllib.parse import unquote

import pyotp
import pytest
import requests

from config import ConfigError, load_settings
from tests.support import (
    ADMIN_KEY,
    ADMIN_SECRET,
    API_KEY,
    API_SECRET,
    LANDLINE,
    MOBILE,
    MY_OTHER,
    MY_OTHER_PASSWORD,
    MY_PASSWORD,
    MY_PERSON,
    LiveServer,
    code_in,
    make_env,
    my_env,
    run_call,
)

PERSON, PASSWORD = MY_PERSON, MY_PASSWORD


@pytest.fixture
def my_live(redis_url, standin, service):
    with LiveServer(lambda url: my_env(redis_url, standin.base_url, url, service.sid)) as server:
        yield server


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} field in the page"
    return found.group(1)


def shown(page: requests.Response) -> str:
    """The page's text as a person reads it: tags dropped, entities unescaped."""
    return unescape(re.sub(r"<[^>]+>", "", page.text))


def signed_in(live, identity: str = PERSON, password: str = PASSWORD) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{live.url}/my/signin", timeout=10)
    answer = browser.post(f"{live.url}/my/signin", timeout=10, data={
        "token": field(form.text, "token"), "identity": identity, "password": password})
    assert answer.status_code == 200 and answer.url == f"{live.url}/my/", answer.text
    return browser


def post(browser: requests.Session, live, path: str, page: str, **data) -> requests.Response:
    """A form of `page` posted as the page sends it, with its CSRF token."""
    return browser.post(f"{live.url}/my/{path}", data={"csrf": field(page, "csrf"), **data}, timeout=10)


def add_app(browser, live) -> tuple[str, pyotp.TOTP, str]:
    """An authenticator app added from Security info: (its factor sid, its codes, the page)."""
    home = browser.get(f"{live.url}/my/", timeout=10).text
    page = post(browser, live, "methods/app", home)
    assert page.status_code == 200
    secret = re.search(r'id="secret-key"><code>([A-Z2-7=]+)</code>', page.text).group(1)
    sid = re.search(r'/my/methods/(YF[0-9a-f]{32})/verify', page.text).group(1)
    assert re.search(r'<img src="data:image/svg\+xml;base64,', page.text)
    return sid, pyotp.TOTP(secret), page.text


def test_off_unless_configured(live):
    assert requests.get(f"{live.url}/my/", timeout=10).status_code == 404


def test_settings_are_checked():
    env = make_env("redis://127.0.0.1:1/0", "http://127.0.0.1:1", "http://localhost", MY_SERVICE_SID="VA12",
                   MY_DEMO_PEOPLE="x:short")
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert "MY_SERVICE_SID must be" in str(refused.value) and "MY_DEMO_PEOPLE: each entry" in str(refused.value)
    settings = load_settings({**env, "MY_SERVICE_SID": "VA" + "0" * 32, "MY_DEMO_PEOPLE": f"{PERSON}:{PASSWORD}",
                              "PUBLIC_BASE_URL": "https://verify.example.com"})
    assert settings.my.demo_people == {PERSON: PASSWORD} and settings.my.secure_cookie
    assert settings.my.session_seconds == 3600


def test_a_person_signs_in_and_out(my_live):
    assert requests.get(f"{my_live.url}/my/", timeout=10, allow_redirects=False).headers["Location"] == "/my/signin"
    browser = requests.Session()
    form = browser.get(f"{my_live.url}/my/signin", timeout=10)
    assert form.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in \
        form.headers["Content-Security-Policy"]
    answer = browser.post(f"{my_live.url}/my/signin", timeout=10, allow_redirects=False, data={
        "token": field(form.text, "token"), "identity": PERSON, "password": PASSWORD})
    assert answer.status_code == 303
    cookie = next(c for c in answer.raw.headers.getlist("Set-Cookie") if c.startswith("my_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/my/" in cookie
    token = unquote(cookie.split(";")[0].split("=", 1)[1])
    # Redis holds the session by its digest, never the cookie itself.
    assert token not in repr(my_live.app.extensions["telverify"].redis.keys("*"))
    home = browser.get(f"{my_live.url}/my/", timeout=10)
    assert "More information required" in home.text  # no method yet: the set-up page
    out = post(browser, my_live, "signout", home.text)
    assert out.url == f"{my_live.url}/my/signin"
    assert browser.get(f"{my_live.url}/my/", timeout=10).url == f"{my_live.url}/my/signin"
    # The old cookie signs no one in either.
    assert requests.get(f"{my_live.url}/my/", cookies={"my_session": token}, timeout=10,
                        allow_redirects=False).status_code == 303


def test_wrong_passwords_are_refused_then_limited(my_live):
    browser = requests.Session()
    for attempt in range(6):
        form = browser.get(f"{my_live.url}/my/signin", timeout=10)
        answer = browser.post(f"{my_live.url}/my/signin", timeout=10, data={
            "token": field(form.text, "token"), "identity": PERSON, "password": f"wrong {attempt}"})
        assert answer.status_code == 401
    assert "Too many wrong tries" in answer.text
    form = browser.get(f"{my_live.url}/my/signin", timeout=10)
    answer = browser.post(f"{my_live.url}/my/signin", timeout=10, data={
        "token": field(form.text, "token"), "identity": PERSON, "password": PASSWORD})
    assert answer.status_code == 401 and "Too many wrong tries" in answer.text  # the right one too, for now
    # Another person from the same address is not locked out by them.
    assert "More information required" in signed_in(my_live, MY_OTHER, MY_OTHER_PASSWORD).get(
        f"{my_live.url}/my/", timeout=10).text


def test_a_sign_in_form_from_elsewhere_is_refused(my_live):
    answer = requests.post(f"{my_live.url}/my/signin", timeout=10, data={
        "token": "forged", "identity": PERSON, "password": PASSWORD}, cookies={"my_signin": "other"})
    assert answer.status_code == 400 and "my_session" not in answer.cookies


def test_every_form_needs_the_sessions_token(my_live):
    browser = signed_in(my_live)
    for path in ("methods/app", "signout", f"methods/YF{'0' * 32}/default", f"methods/YF{'0' * 32}/delete"):
        answer = browser.post(f"{my_live.url}/my/{path}", data={"csrf": "0" * 64}, timeout=10)
        assert answer.status_code == 400 and "This form has expired" in answer.text, path
    assert browser.get(f"{my_live.url}/my/", timeout=10).status_code == 200  # still signed in


def test_an_authenticator_app_added_proven_made_default_and_deleted(my_live, service):
    browser = signed_in(my_live)
    first, codes, page = add_app(browser, my_live)
    # A wrong code: refused, the secret not shown again.
    wrong_code = "000000" if codes.now() != "000000" else "111111"
    wrong = post(browser, my_live, f"methods/{first}/verify", page, code=wrong_code)
    assert wrong.status_code == 400 and "That code didn't work" in unescape(wrong.text)
    assert "secret-key" not in wrong.text
    assert 'aria-describedby="code-error"' in wrong.text
    done = post(browser, my_live, f"methods/{first}/verify", wrong.text, code=codes.now())
    assert done.url == f"{my_live.url}/my/?done=added" and "Security info" in done.text
    assert "Default sign-in method:</strong> Authenticator app: added " in done.text

    # The only method cannot be deleted.
    confirm = browser.get(f"{my_live.url}/my/methods/{first}/delete", timeout=10)
    assert "Are you sure" in confirm.text
    kept = post(browser, my_live, f"methods/{first}/delete", confirm.text)
    assert kept.status_code == 409 and "This is your only sign-in method" in kept.text

    second, second_codes, page = add_app(browser, my_live)
    post(browser, my_live, f"methods/{second}/verify", page, code=second_codes.now())
    home = browser.get(f"{my_live.url}/my/", timeout=10).text
    assert home.count(">Make default</button>") == 1
    made = post(browser, my_live, f"methods/{second}/default", home)
    assert made.url.endswith("done=default")
    entity = requests.get(f"{my_live.url}/admin/Services/{service.sid}/Entities/{PERSON}",
                          auth=(ADMIN_KEY, ADMIN_SECRET), timeout=10).json()
    assert entity["default_factor_sid"] == second

    confirm = browser.get(f"{my_live.url}/my/methods/{first}/delete", timeout=10)
    gone = post(browser, my_live, f"methods/{first}/delete", confirm.text)
    assert gone.url.endswith("done=deleted") and first not in gone.text and second in gone.text

    log = requests.get(f"{my_live.url}/admin/AuditLog", params={"Identity": PERSON},
                       auth=(ADMIN_KEY, ADMIN_SECRET), timeout=10).json()
    actions = [(entry["action"], entry["status_code"]) for entry in log["entries"]
               if entry["admin_id"] == f"my:{PERSON}" and entry["identity"] == PERSON]
    assert actions == [("my.method.delete", 200), ("my.default.change", 200), ("my.app.verify", 200),
                       ("my.app.add", 200), ("my.method.delete", 409), ("my.app.verify", 200), ("my.app.add", 200)]


def test_another_persons_method_is_not_reachable(my_live):
    alex = signed_in(my_live)
    sid, codes, page = add_app(alex, my_live)
    post(alex, my_live, f"methods/{sid}/verify", page, code=codes.now())
    sam = signed_in(my_live, MY_OTHER, MY_OTHER_PASSWORD)
    assert sam.get(f"{my_live.url}/my/methods/{sid}/delete", timeout=10).status_code == 404
    home = sam.get(f"{my_live.url}/my/", timeout=10).text
    answer = post(sam, my_live, f"methods/{sid}/delete", home)
    assert answer.status_code == 409 and "isn't one of yours" in unescape(answer.text)
    assert sid in alex.get(f"{my_live.url}/my/", timeout=10).text


def test_phones_from_the_api_are_listed_partly_hidden(my_live, service):
    answer = requests.post(f"{my_live.url}/v2/Services/{service.sid}/Entities/{PERSON}/Factors", timeout=10,
                           auth=(API_KEY, API_SECRET), data={
                               "FactorType": "phone", "FriendlyName": "Desk", "Config.Kind": "office",
                               "Binding.PhoneNumber": "+1 212 555 0123 x123"})
    assert answer.status_code == 201, answer.text
    page = signed_in(my_live).get(f"{my_live.url}/my/", timeout=10).text
    # Not proven yet: the set-up page lists it, marked, and no full number or extension is shown.
    assert "More information required" in page and "Office phone" in page and "Not set up" in page
    assert "+1 •••-•••-••23 ext. ••" in unescape(page)
    assert "5550123" not in page and "555-0123" not in page and "123</" not in page


# -- phones ------------------------------------------------------------------------------------------

def add_phone(browser, live, kind: str, country: str, number: str, **more) -> requests.Response:
    form = browser.get(f"{live.url}/my/methods/phone/{kind}", timeout=10)
    assert form.status_code == 200
    more.setdefault("channel", field(form.text, "channel"))  # the form's own, as a browser sends it
    return post(browser, live, f"methods/phone/{kind}", form.text, country=country, number=number, **more)


def test_the_country_list_puts_the_browsers_own_first(my_live):
    browser = signed_in(my_live)
    page = browser.get(f"{my_live.url}/my/methods/phone/mobile", headers={"Accept-Language": "en-CH,en;q=0.9"},
                       timeout=10).text
    options = re.findall(r'<option value="([A-Z]*)"( selected)?>([^<]*)</option>', page)
    assert options[0] == ("CH", " selected", "Switzerland (+41)")
    assert ("GB", "", "United Kingdom (+44)") in options and len(options) > 200
    # No language with a region: nothing chosen for the person.
    page = browser.get(f"{my_live.url}/my/methods/phone/office", headers={"Accept-Language": "en"}, timeout=10).text
    assert 'value="">Choose your country or region</option>' in page and " selected" not in page
    assert 'id="extension"' in page and 'name="channel" value="call_approve"' in page and "Text me" not in page


def test_a_mobile_proven_by_a_texted_code(my_live, standin):
    browser = signed_in(my_live)
    bad = add_phone(browser, my_live, "mobile", "GB", "12345", channel="sms")
    assert bad.status_code == 400 and 'aria-describedby="number-error"' in bad.text
    assert "That isn't a phone number in United Kingdom (+44)" in unescape(bad.text)
    page = add_phone(browser, my_live, "mobile", "GB", "07400 123456", channel="sms")
    assert re.fullmatch(rf"{my_live.url}/my/methods/YF[0-9a-f]{{32}}/proof/YC[0-9a-f]{{32}}", page.url)
    assert "sent a code to +44 •••• ••••56" in shown(page)
    code = code_in(standin.wait_for_message(MOBILE))
    wrong = post(browser, my_live, page.url.split("/my/", 1)[1] + "/code", page.text,
                 code="000000" if code != "000000" else "111111")
    assert wrong.status_code == 400 and "That code didn't work" in unescape(wrong.text)
    done = post(browser, my_live, page.url.split("/my/", 1)[1] + "/code", wrong.text, code=code)
    assert done.url == f"{my_live.url}/my/?done=code"
    assert "Default sign-in method:</strong> Phone: +44 •••• ••••56" in unescape(done.text)
    assert "7400123456" not in done.text and "07400" not in done.text


def test_an_office_phone_proven_by_pressing_pound_behind_its_extension(my_live, standin):
    standin.set_callee("+12125550123", answer="human", keys=["#"])
    browser = signed_in(my_live)
    page = add_phone(browser, my_live, "office", "US", "(212) 555-0123", extension="123", channel="call_approve")
    assert "We're calling +1 •••-•••-••23 (we dial your extension for you)" in shown(page)
    call = run_call(standin, "+12125550123")
    assert call["send_digits"] == "wwww123" and "approved" in call["said"][-1]
    status = browser.get(page.url + "/status", timeout=10).json()
    assert status == {"status": "approved"}
    done = post(browser, my_live, page.url.split("/my/", 1)[1] + "/check", page.text)
    assert done.url == f"{my_live.url}/my/?done=call" and "Office phone" in done.text


def test_a_fraud_report_while_adding_a_phone_blocks_it(my_live, standin):
    standin.set_callee(LANDLINE, answer="human", keys=["0", "#"])
    browser = signed_in(my_live)
    page = add_phone(browser, my_live, "alternate", "GB", "020 7946 0000")
    assert "reported as fraud" in run_call(standin, LANDLINE)["said"][-1]
    checked = post(browser, my_live, page.url.split("/my/", 1)[1] + "/check", page.text)
    assert checked.url == page.url and "You reported this call as not yours" in unescape(checked.text)
    again = add_phone(browser, my_live, "alternate", "GB", "020 7946 0000")
    assert again.status_code == 400 and "blocked" in again.text
    assert len(standin.requests(LANDLINE, "Calls")) == 1  # the blocked number is not called again


def test_a_second_phone_of_a_kind_waits_for_the_first_to_go(my_live, standin):
    browser = signed_in(my_live)
    page = add_phone(browser, my_live, "mobile", "GB", "07400 123456", channel="sms")
    post(browser, my_live, page.url.split("/my/", 1)[1] + "/code", page.text,
         code=code_in(standin.wait_for_message(MOBILE)))
    refused = add_phone(browser, my_live, "mobile", "GB", "07400 654321", channel="sms")
    assert refused.status_code == 409 and "You have a phone of this kind already. Delete it first" in refused.text
    # A phone never proven is replaced instead.
    first = add_phone(browser, my_live, "alternate", "GB", "020 7946 0001")
    second = add_phone(browser, my_live, "alternate", "GB", "020 7946 0002")
    assert first.url.split("/proof/")[0] != second.url.split("/proof/")[0]
    home = browser.get(f"{my_live.url}/my/", timeout=10).text
    assert home.count('<span class="title">Alternate phone</span>') == 1 and "+44 •• •••• ••02" in unescape(home)


# -- a fresh second step -----------------------------------------------------------------------------

def with_app(live) -> tuple[requests.Session, str, pyotp.TOTP]:
    """A person with a proven authenticator app: (the session that added it, its sid, its codes)."""
    return with_app_of(live, PERSON, PASSWORD)


def test_a_new_session_takes_a_second_step_before_adding_a_method(my_live):
    _, app, codes = with_app(my_live)
    returning = signed_in(my_live)  # the password alone, as a stranger who learnt it would have
    asked = returning.get(f"{my_live.url}/my/methods/add", timeout=10, allow_redirects=False)
    assert asked.status_code == 303 and asked.headers["Location"] == "/my/verify"
    home = returning.get(f"{my_live.url}/my/", timeout=10).text
    for path in ("methods/app", "methods/phone/mobile"):
        refused = post(returning, my_live, path, home, country="GB", number="07400 123456", channel="sms")
        assert refused.url == f"{my_live.url}/my/verify", path
    verify = returning.get(f"{my_live.url}/my/methods/add", timeout=10)  # the page to come back to
    assert verify.url == f"{my_live.url}/my/verify"
    assert "Use a code from my authenticator app" in verify.text
    form = post(returning, my_live, "verify", verify.text, method=app)
    # The code that proved the app is spent: the app's next one.
    wrong = post(returning, my_live, f"verify/{app}/code", form.text, code=codes.now())
    assert wrong.status_code == 400 and 'aria-describedby="code-error"' in wrong.text
    done = post(returning, my_live, f"verify/{app}/code", wrong.text, code=codes.at(time.time() + codes.interval))
    assert done.url == f"{my_live.url}/my/methods/add" and "Which method would you like to add?" in done.text
    # Fresh now: the next change goes through without another step.
    second = post(returning, my_live, "methods/app", done.text)
    assert second.status_code == 200 and 'id="secret-key"' in second.text


def test_the_second_step_for_a_change_uses_another_method(my_live, standin):
    browser, app, codes = with_app(my_live)
    page = add_phone(browser, my_live, "mobile", "GB", "07400 123456", channel="sms")
    post(browser, my_live, page.url.split("/my/", 1)[1] + "/code", page.text,
         code=code_in(standin.wait_for_message(MOBILE)))
    standin.clear()
    returning = signed_in(my_live)
    asked = returning.get(f"{my_live.url}/my/methods/{app}/delete", timeout=10)
    assert asked.url == f"{my_live.url}/my/verify"
    # Deleting the app: the phone proves it's the person, not the app itself.
    assert "Use a code from my authenticator app" not in asked.text and "Text a code to" in shown(asked)
    sent = post(returning, my_live, "verify", asked.text, method=re.search(r'value="(YF[0-9a-f]{32})"', asked.text)[1])
    assert re.fullmatch(rf"{my_live.url}/my/verify/YF[0-9a-f]{{32}}/YC[0-9a-f]{{32}}", sent.url)
    confirm = post(returning, my_live, sent.url.split("/my/", 1)[1] + "/code", sent.text,
                   code=code_in(standin.wait_for_message(MOBILE)))
    assert confirm.url == f"{my_live.url}/my/methods/{app}/delete" and "Are you sure" in confirm.text
    gone = post(returning, my_live, f"methods/{app}/delete", confirm.text)
    assert gone.url.endswith("done=deleted") and app not in gone.text
    # The person's phone is told, in case it was not them.
    told = standin.wait_for_message(MOBILE, count=2)["body"]
    assert told.startswith("Security info: a sign-in method was deleted from your account on ") and \
        "If this wasn't you, tell your IT help desk now." in told
    log = requests.get(f"{my_live.url}/admin/AuditLog", params={"Identity": PERSON},
                       auth=(ADMIN_KEY, ADMIN_SECRET), timeout=10).json()["entries"]
    assert [e["action"] for e in log[:2]] == ["my.method.delete", "my.second_step"]


def test_a_method_of_someone_else_cannot_take_the_second_step(my_live):
    with_app(my_live)
    _, theirs, _ = with_app_of(my_live, MY_OTHER, MY_OTHER_PASSWORD)
    returning = signed_in(my_live)
    verify = returning.get(f"{my_live.url}/my/methods/add", timeout=10)
    refused = post(returning, my_live, "verify", verify.text, method=theirs)
    assert refused.status_code == 400 and "Choose one of the methods shown" in refused.text


def with_app_of(live, identity: str, password: str) -> tuple[requests.Session, str, pyotp.TOTP]:
    browser = signed_in(live, identity, password)
    sid, codes, page = add_app(browser, live)
    post(browser, live, f"methods/{sid}/verify", page, code=codes.now())
    return browser, sid, codes


def test_a_phone_changed_to_a_new_number_keeps_the_old_until_the_new_is_proven(my_live, standin, service):
    browser = signed_in(my_live)
    page = add_phone(browser, my_live, "mobile", "GB", "07400 123456", channel="sms")
    post(browser, my_live, page.url.split("/my/", 1)[1] + "/code", page.text,
         code=code_in(standin.wait_for_message(MOBILE)))
    old = re.search(r'/my/methods/(YF[0-9a-f]{32})/delete', browser.get(f"{my_live.url}/my/", timeout=10).text)[1]
    new_number = "+447400654321"
    form = browser.get(f"{my_live.url}/my/methods/phone/mobile", params={"replaces": old}, timeout=10)
    assert "Change Phone" in form.text and f'name="replaces" value="{old}"' in form.text
    sent = post(browser, my_live, "methods/phone/mobile", form.text, replaces=old, country="GB",
                number="07400 654321", channel="sms")
    # Until the new number is proven, the old one is the person's phone, and their default.
    home = shown(browser.get(f"{my_live.url}/my/", timeout=10))
    assert "Phone +44 •••• ••••56" in home and "••••21" not in home
    done = post(browser, my_live, sent.url.split("/my/", 1)[1] + "/code", sent.text,
                code=code_in(standin.wait_for_message(new_number)))
    assert done.url == f"{my_live.url}/my/?done=code"
    after = shown(done)
    assert "Default sign-in method: Phone: +44 •••• ••••21" in after and "••••56" not in after
    factors = requests.get(f"{my_live.url}/admin/Services/{service.sid}/Entities/{PERSON}",
                           auth=(ADMIN_KEY, ADMIN_SECRET), timeout=10).json()
    assert len(factors["factors"]) == 1 and factors["factors"][0]["sid"] != old
    # The old number was told a method was added, while it was still the person's.
    assert "a sign-in method was added" in standin.wait_for_message(MOBILE, count=2)["body"]
    log = requests.get(f"{my_live.url}/admin/AuditLog", params={"Identity": PERSON},
                       auth=(ADMIN_KEY, ADMIN_SECRET), timeout=10).json()["entries"]
    mine = [e["action"] for e in log if e["admin_id"] == f"my:{PERSON}"]
    assert mine[:3] == ["my.method.delete", "my.mobile.verify", "my.mobile.change"]
