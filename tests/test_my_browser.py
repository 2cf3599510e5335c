"""/my/ in Debian's chromium, as a person meets it: signed in through the demo directory, "More
information required", an authenticator app set up from the secret under "Can't scan the QR
code?" (its code computed here with pyotp), a wrong code refused beside its field, a second app
made the default, a method deleted after its confirmation. Every page is checked with axe-core
(WCAG 2 A and AA, colour contrast included), at 320 px wide too, and screenshotted into
TEST_SCREENSHOTS (default /tmp/telverify-screenshots/my)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.support import MY_PASSWORD, MY_PERSON, ROOT, LiveServer, my_env

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("TEST_SCREENSHOTS", "/tmp/telverify-screenshots")) / "my"
expect.set_options(timeout=10_000)


@pytest.fixture
def my_live(redis_url, standin, service):
    with LiveServer(lambda url: my_env(redis_url, standin.base_url, url, service.sid)) as server:
        yield server


@pytest.fixture
def page(browser):
    # axe-core is put into each page by the test: past the pages' CSP, which allows no script.
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


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

    page.get_by_role("button", name="Add an authenticator app").click()
    second = set_up_app(page)
    page.get_by_label("Enter the 6-digit code").fill(second.now())
    page.get_by_role("button", name="Next").click()
    rows = page.locator("ul.methods li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Default")
    first_sid = re.search(r"/my/methods/(YF[0-9a-f]{32})/delete",
                          rows.nth(0).get_by_role("link").get_attribute("href")).group(1)

    page.keyboard.press("Tab")  # the page works from the keyboard: Make default is reached and pressed
    make_default = rows.nth(1).get_by_role("button", name=re.compile("^Make .* my default$"))
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
