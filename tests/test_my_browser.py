"""/my/ in Debian's chromium, as a person meets it: signed in through the demo directory, "More
information required", an authenticator app set up from the secret under "Can't scan the QR
code?" (its code computed here with pyotp), a wrong code refused beside its field, a second app
made the default, a method deleted after its confirmation; a mobile proven by the code its text
shows on the dev phone, an office phone by answering on the dev phone (the switchboard's digits
shown there) and pressing #, and a fraud report (0, then #) that blocks the number. Every page is
checked with axe-core (WCAG 2 A and AA, colour contrast included), at 320 px wide too, and
screenshotted into TEST_SCREENSHOTS (default /tmp/telverify-screenshots/my)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    LANDLINE,
    MOBILE,
    MY_PASSWORD,
    MY_PERSON,
    ROOT,
    LiveServer,
    application_errors,
    my_env,
)
from twilio_standin import StandIn

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("TEST_SCREENSHOTS", "/tmp/telverify-screenshots")) / "my"
expect.set_options(timeout=10_000)


@pytest.fixture
def my_live(redis_url, standin, service):
    with LiveServer(lambda url: my_env(redis_url, standin.base_url, url, service.sid)) as server:
        yield server


@pytest.fixture(scope="module")
def phone_standin():
    """A stand-in whose phones ring until someone answers on the dev phone, at half speed."""
    with StandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.5, default_callee="interactive") as server:
        yield server


@pytest.fixture
def phone_live(redis_url, phone_standin, service):
    phone_standin.clear()
    with LiveServer(lambda url: my_env(redis_url, phone_standin.base_url, url, service.sid)) as server:
        yield server
    errors = application_errors(phone_standin)
    phone_standin.clear()  # hangs up whatever still rings
    assert not errors, errors


@pytest.fixture
def context(browser):
    # axe-core is put into each page by the test: past the pages' own CSP. The browser speaks
    # British English: the country list starts with the United Kingdom.
    context = browser.new_context(bypass_csp=True, locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def dev_phone(context, phone_standin):
    phone = context.new_page()
    phone.goto(phone_standin.base_url + "/")
    expect(phone.locator("#connection")).to_have_text("Live")
    return phone


def accessible(page: Page, name: str) -> None:
    """No axe-core violation of WCAG 2 A or AA on the page, at its width and at 320 px; and a
    screenshot of each."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert AXE.exists(), "node_modules/axe-core is missing: ./dev test installs it (npm ci)"
    for width in (1024, 320):
        page.set_viewport_size({"width": width, "height": 800})
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations.map(v => v.id + ': ' +
            v.nodes.map(n => n.target.join(' ')).join(', '))""")
        assert found == [], f"{name} at {width} px: {found}"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def sign_in(page: Page, live) -> None:
    page.goto(f"{live.url}/my/")
    expect(page).to_have_url(f"{live.url}/my/signin")
    accessible(page, "sign-in")
    page.get_by_label("Your name").fill(MY_PERSON)
    page.get_by_label("Password").fill(MY_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live.url}/my/")


def set_up_app(page: Page) -> pyotp.TOTP:
    """On the app's set-up page: the secret read from "Can't scan the QR code?"."""
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    page.get_by_text("Can't scan the QR code?").click()
    expect(page.locator("#account-name")).to_have_text(MY_PERSON)
    return pyotp.TOTP(page.locator("#secret-key").inner_text().strip())


def test_a_first_app_a_second_made_default_and_the_first_deleted(page: Page, my_live):
    sign_in(page, my_live)
    expect(page.get_by_role("heading", name="More information required")).to_be_visible()
    accessible(page, "more-information-required")
    page.get_by_role("button", name="Set up an authenticator app").click()
    codes = set_up_app(page)
    accessible(page, "app-set-up")

    page.get_by_label("Enter the 6-digit code").fill("000000" if codes.now() != "000000" else "111111")
    page.get_by_role("button", name="Next").click()
    code_field = page.get_by_label("Enter the 6-digit code")
    expect(page.get_by_role("alert")).to_have_text("That code didn't work. Enter the code your app shows now.")
    expect(code_field).to_have_attribute("aria-describedby", "code-error")
    expect(code_field).to_be_focused()
    accessible(page, "app-wrong-code")
    code_field.fill(codes.now())
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Security info")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Your authenticator app is set up.")
    expect(page.get_by_text(re.compile("^Default sign-in method: Authenticator app: added "))).to_be_visible()
    accessible(page, "security-info")

    page.get_by_role("link", name="+ Add sign-in method").click()
    accessible(page, "add-a-method")
    page.get_by_role("button", name="Authenticator app").click()
    second = set_up_app(page)
    page.get_by_label("Enter the 6-digit code").fill(second.now())
    page.get_by_role("button", name="Next").click()
    rows = page.locator("ul.methods li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Default")
    first_sid = re.search(r"/my/methods/(YF[0-9a-f]{32})/delete",
                          rows.nth(0).get_by_role("link").get_attribute("href")).group(1)

    page.keyboard.press("Tab")  # the page works from the keyboard: Make default is reached and pressed
    make_default = rows.nth(1).get_by_role("button", name=re.compile("^Make default: "))
    make_default.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your default sign-in method is changed.")
    expect(rows.nth(0)).not_to_contain_text(first_sid)

    page.locator(f'a[href$="/my/methods/{first_sid}/delete"]').click()
    expect(page.get_by_role("heading", name="Delete Authenticator app?")).to_be_visible()
    accessible(page, "delete-confirm")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("The method is deleted.")
    expect(page.locator("ul.methods li")).to_have_count(1)
    expect(page.locator(f'a[href$="/my/methods/{first_sid}/delete"]')).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{my_live.url}/my/signin")

    # Signed in again, with the password alone: a change waits for a fresh second step.
    sign_in(page, my_live)
    page.get_by_role("link", name="+ Add sign-in method").click()
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    accessible(page, "second-step")
    page.get_by_role("button", name="Use a code from my authenticator app").click()
    page.get_by_label("Enter the code from your authenticator app").fill(second.at(time.time() + second.interval))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Add a method")).to_be_visible()


def answer(dev_phone: Page, number: str):
    """The call ringing on the dev phone, answered; its card."""
    call = dev_phone.locator(f'section.phone[data-number="{number}"] article.call')
    expect(call).to_have_attribute("data-state", "ringing", timeout=20_000)
    call.get_by_role("button", name="Answer", exact=True).click()
    expect(call.locator(".listening")).to_have_text("Listening for a key", timeout=20_000)
    return call


def add_phone(page: Page, kind: str, country: str | None, number: str, extension: str = "") -> None:
    page.goto(page.url.split("/my/")[0] + "/my/methods/add")
    accessible(page, "add-a-method")
    page.get_by_role("link", name=kind).click()
    expect(page.get_by_role("heading", name=kind)).to_be_visible()
    if country:
        page.get_by_label("Country or region").select_option(country)
    page.get_by_label("Phone number").fill(number)
    if extension:
        page.get_by_label("Extension (optional)").fill(extension)


def test_a_mobile_by_text_then_an_office_phone_by_pressing_pound(page: Page, dev_phone: Page, phone_live):
    sign_in(page, phone_live)
    page.get_by_role("link", name="I want to set up a different method: my phone").click()
    expect(page.get_by_label("Country or region")).to_have_value("GB")  # the browser's own country
    page.get_by_label("Phone number").fill("07400 12345")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That isn't a phone number in United Kingdom (+44). Check it and try again.")
    expect(page.get_by_label("Phone number")).to_have_attribute("aria-describedby", "number-error")
    accessible(page, "phone-wrong-number")
    page.get_by_label("Phone number").fill("07400 123456")
    page.get_by_label("Text me a code").check()
    accessible(page, "phone-form")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("status")).to_have_text("We've sent a code to +44 •••• ••••56. Enter it below.")
    accessible(page, "phone-code")
    code = dev_phone.locator(f'section.phone[data-number="{MOBILE}"] li.message mark.code').inner_text()
    page.get_by_label("Enter the code").fill(code)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("status")).to_have_text("Code accepted: your phone is set up.")
    expect(page.get_by_text("Default sign-in method: Phone: +44 •••• ••••56")).to_be_visible()

    add_phone(page, "Office phone", "US", "(212) 555-0123", "123")
    accessible(page, "office-phone-form")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#live")).to_contain_text("We're calling +1 •••-•••-••23 (we dial your extension for you)")
    accessible(page, "office-phone-calling")
    call = answer(dev_phone, "+12125550123")
    expect(call.locator(".transcript .switchboard")).to_have_text("Switchboard dialled: wwww123")
    dev_phone.screenshot(path=str(SHOTS / "dev-phone-office-call.png"), full_page=True)
    call.get_by_role("button", name="pound (#)").click()
    # The page sees the call approved by itself, and goes on to Security info.
    expect(page.get_by_role("status")).to_have_text("Call answered: your phone is set up.", timeout=20_000)
    expect(page.locator("ul.methods li")).to_have_count(2)
    expect(page.locator("ul.methods")).to_contain_text("Office phone +1 •••-•••-••23 ext. ••")
    accessible(page, "security-info-phones")

    # Change: the mobile moves to a new number, proven by its own text.
    page.get_by_role("link", name=re.compile("^Change: Phone, ")).click()
    expect(page.get_by_role("heading", name="Change Phone")).to_be_visible()
    accessible(page, "phone-change")
    page.get_by_label("Phone number").fill("07400 654321")
    page.get_by_label("Text me a code").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("status")).to_have_text("We've sent a code to +44 •••• ••••21. Enter it below.")
    code = dev_phone.locator('section.phone[data-number="+447400654321"] li.message mark.code').inner_text()
    page.get_by_label("Enter the code").fill(code)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("status")).to_have_text("Code accepted: your phone is set up.")
    expect(page.locator("ul.methods li")).to_have_count(2)
    expect(page.get_by_text("Default sign-in method: Phone: +44 •••• ••••21")).to_be_visible()


def test_a_fraud_report_while_adding_a_phone_blocks_it(page: Page, dev_phone: Page, phone_live):
    sign_in(page, phone_live)
    add_phone(page, "Alternate phone", None, "020 7946 0000")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#live")).to_contain_text("We're calling +44 •• •••• ••00")
    call = answer(dev_phone, LANDLINE)
    call.get_by_role("button", name="0", exact=True).click()
    expect(call.locator(".transcript .say").last).to_contain_text("press the pound key", timeout=20_000)
    call.get_by_role("button", name="pound (#)").click()
    expect(page.get_by_role("alert")).to_contain_text("You reported this call as not yours", timeout=20_000)
    accessible(page, "phone-fraud-reported")
    add_phone(page, "Alternate phone", None, "020 7946 0000")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text("This phone was reported as getting calls its owner didn't ask")


@pytest.mark.parametrize("locale, heading", [("es-ES", "Se necesita más información"),
                                             ("pt-PT", "São necessárias mais informações")])
def test_the_pages_in_the_browsers_language(browser, my_live, locale, heading):
    context = browser.new_context(bypass_csp=True, locale=locale)
    page = context.new_page()
    try:
        page.goto(f"{my_live.url}/my/")
        expect(page.locator("html")).to_have_attribute("lang", locale[:2])
        accessible(page, f"sign-in-{locale}")
        page.locator("#identity").fill(MY_PERSON)
        page.locator("#password").fill(MY_PASSWORD)
        page.locator('form button[type="submit"]').click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        accessible(page, f"more-information-required-{locale}")
    finally:
        context.close()
