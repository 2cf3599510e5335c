"""A whole Entra External MFA sign-in in Debian's Chromium: the Entra stand-in's sign-in page
posts the authorize request to telverify, the person proves their second factor on telverify's
pages (press # on an office phone behind its extension, a texted code, a code call, an
authenticator app; a fraud report, a hang-up, a sign-in left past its time), and telverify's
answer goes back to the stand-in, which checks it as Entra does (or, past the sign-in's time,
nothing goes back). Then hints telverify must refuse, posted as Entra's form is.

People are set up through telverify's /v2 Entities and Factors API, their factors proven by a
first challenge (telverify offers verified factors only)."""
from __future__ import annotations

import dataclasses
import re
import time
import uuid

import pyotp
import pytest
import requests

pytest.importorskip("verify.eam.views", reason="the provider side is not in this branch: verify.eam.views "
                                               "(/.well-known/openid-configuration, /eam/authorize) is missing")

from playwright.sync_api import Page, expect  # noqa: E402

from config import load_settings  # noqa: E402
from entra_standin import KINDS, EntraStandIn, User  # noqa: E402
from tests.support import (  # noqa: E402
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    CODE_READING,
    LANDLINE,
    MOBILE,
    LiveServer,
    application_errors,
    code_in,
    make_env,
    run_call,
)
from twilio_standin import StandIn  # noqa: E402

WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)
AUTH = (API_KEY, API_SECRET)
CLIENT_ID = "c0ffee00-0000-4000-8000-00000000c11d"
TENANT = User().tid
DESK_PHONE, DESK_E164 = "+1 212 555 0123 x123", "+12125550123"
ACR = "possessionorinherence"


@pytest.fixture(scope="module")
def entra():
    # The provider's discovery URL is known once telverify runs (eam_live points it there).
    with EntraStandIn(CLIENT_ID, "http://127.0.0.1:9/.well-known/openid-configuration") as server:
        yield server


@pytest.fixture
def service(sdk):
    return sdk.verify.v2.services.create(friendly_name="Contoso")


def eam_env(redis_url: str, standin_url: str, url: str, entra, service_sid: str) -> dict:
    return make_env(redis_url, standin_url, url, EAM_CLIENT_ID=CLIENT_ID, EAM_TENANTS=f"{TENANT}={service_sid}",
                    EAM_MICROSOFT_DISCOVERY_URL=entra.discovery_url, EAM_EXTRA_REDIRECT_URIS=entra.redirect_uri)


@pytest.fixture
def eam_live(redis_url, standin, entra, service):
    """telverify as the tenant's External MFA provider, its people in `service`: an app of its own
    per test, as EAM_TENANTS names a service made after Redis was emptied."""
    with LiveServer(lambda url: eam_env(redis_url, standin.base_url, url, entra, service.sid)) as server:
        entra.provider_discovery_url = f"{server.url}/.well-known/openid-configuration"
        entra.clear()
        yield server


@pytest.fixture(autouse=True)
def no_application_errors(request):
    yield
    if "standin" in request.fixturenames:
        errors = application_errors(request.getfixturevalue("standin"))
        assert not errors, errors


class Person:
    """An Entra user (a random oid) as telverify's Entity, with factors proven by a challenge."""

    def __init__(self, live, service_sid: str, standin):
        self.oid = str(uuid.uuid4())
        self.standin = standin
        self.base = f"{live.url}/v2/Services/{service_sid}/Entities/{self.oid}"

    def challenge(self, factor_sid: str, status: int = 201) -> dict:
        answer = requests.post(f"{self.base}/Challenges", data={"FactorSid": factor_sid}, auth=AUTH, timeout=10)
        assert answer.status_code == status, answer.text
        return answer.json()

    def phone(self, kind: str, number: str, e164: str) -> str:
        """A phone factor of `kind`, proven as its own channel proves it: the factor's sid."""
        answer = requests.post(f"{self.base}/Factors", auth=AUTH, timeout=10, data={
            "FactorType": "phone", "FriendlyName": f"{kind} phone", "Config.Kind": kind,
            "Binding.PhoneNumber": number})
        assert answer.status_code == 201, answer.text
        sid = answer.json()["sid"]
        keys = ["#"] if kind == "office" else []
        self.standin.set_callee(e164, answer="human", keys=keys)
        challenge = self.challenge(sid)
        if challenge["channel"] == "sms":
            self._answer(challenge["sid"], code_in(self.standin.wait_for_message(e164)))
        elif challenge["channel"] == "call":
            self._answer(challenge["sid"], spoken_code(run_call(self.standin, e164)))
        else:
            run_call(self.standin, e164)
        self.standin.clear()
        factor = requests.get(f"{self.base}/Factors/{sid}", auth=AUTH, timeout=10).json()
        assert factor["status"] == "verified", factor
        return sid

    def app(self) -> tuple[str, pyotp.TOTP]:
        """An authenticator app, proven with the current step's code: (its sid, its codes)."""
        answer = requests.post(f"{self.base}/Factors", auth=AUTH, timeout=10,
                               data={"FactorType": "totp", "FriendlyName": "Authenticator"})
        assert answer.status_code == 201, answer.text
        factor = answer.json()
        totp = pyotp.TOTP(factor["binding"]["secret"], interval=factor["config"]["time_step"],
                          digits=factor["config"]["code_length"], digest=factor["config"]["alg"])
        verified = requests.post(f"{self.base}/Factors/{factor['sid']}", auth=AUTH, timeout=10,
                                 data={"AuthPayload": totp.now()})
        assert verified.json()["status"] == "verified", verified.text
        return factor["sid"], totp

    def _answer(self, challenge_sid: str, code: str) -> None:
        answer = requests.post(f"{self.base}/Challenges/{challenge_sid}", data={"AuthPayload": code}, auth=AUTH,
                               timeout=10)
        assert answer.json()["status"] == "approved", answer.text


def spoken_code(call: dict) -> str:
    return next(text for text in call["said"] if CODE_READING.fullmatch(text)).replace(". ", "").rstrip(".")



def browse(browser, entra, telverify):
    """A fresh browser profile; fails the test on any script error or any request that leaves
    the stand-in and telverify (nothing may come from a CDN)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone held upright
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("request", lambda request: None if request.url.startswith((entra.base_url, telverify.url, "data:"))
            else problems.append(f"fetched {request.url}"))
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def page(browser, eam_live, entra):
    yield from browse(browser, entra, eam_live)


def sign_in(page: Page, entra, eam_live, person: Person) -> None:
    """Entra's redirect: the stand-in's sign-in page posts the authorize request by itself."""
    page.goto(entra.signin_url(tid=TENANT, oid=person.oid, name="Adele Vance"))
    expect(page).to_have_url(re.compile("^" + re.escape(eam_live.url)))


def choose(page: Page, factor_sid: str, channel: str) -> None:
    """Pick a method on telverify's page: the control whose value is `<factor sid>:<channel>`
    (a button, or a radio and the form's submit button)."""
    control = method(page, factor_sid, channel)
    if control.get_attribute("type") == "radio":
        control.check()
        control.locator("xpath=ancestor::form").locator('[type="submit"]').first.click()
    else:
        control.click()


def method(page: Page, factor_sid: str, channel: str):
    return page.locator(f'[value="{factor_sid}:{channel}"]:not([type="hidden"])')


def enter_code(page: Page, code: str) -> None:
    field = page.get_by_label(re.compile("code", re.I))
    field.fill(code)
    field.press("Enter")


def signed_in(page: Page, entra, amr: str) -> dict:
    """The stand-in accepted telverify's id_token for `amr`, and the browser shows it."""
    result = entra.wait_for_result(timeout=30)
    assert (result["outcome"], result["amr"], result["acr"]) == ("signed_in", amr, ACR), result
    expect(page.locator("#outcome")).to_have_text(f"Signed in: amr {amr}, acr {ACR}")
    return result


# -- each method, as a person goes through it -------------------------------------------------------
def test_pressing_pound_on_an_office_phone_behind_its_extension(page, entra, eam_live, service, standin):
    person = Person(eam_live, service.sid, standin)
    desk = person.phone("office", DESK_PHONE, DESK_E164)
    standin.set_callee(DESK_E164, answer="human", keys=["#"])
    sign_in(page, entra, eam_live, person)
    choose(page, desk, "call_approve")
    call = run_call(standin, DESK_E164)
    assert call["send_digits"] == "wwww123" and "approved" in call["said"][-1]
    result = signed_in(page, entra, "tel")
    assert result["oid"] == person.oid and result["claims"]["sub"] == entra.signins.hints.sub(TENANT, person.oid)


def test_a_texted_code_typed_in_the_page(page, entra, eam_live, service, standin):
    person = Person(eam_live, service.sid, standin)
    mobile = person.phone("mobile", MOBILE, MOBILE)
    sign_in(page, entra, eam_live, person)
    choose(page, mobile, "sms")
    enter_code(page, code_in(standin.wait_for_message(MOBILE)))
    signed_in(page, entra, "sms")


def test_a_code_call(page, entra, eam_live, service, standin):
    person = Person(eam_live, service.sid, standin)
    alternate = person.phone("alternate", LANDLINE, LANDLINE)
    standin.set_callee(LANDLINE, answer="human", keys=[])
    sign_in(page, entra, eam_live, person)
    choose(page, alternate, "call")
    enter_code(page, spoken_code(run_call(standin, LANDLINE)))
    signed_in(page, entra, "tel")


def test_an_authenticator_app(page, entra, eam_live, service, standin):
    person = Person(eam_live, service.sid, standin)
    app, totp = person.app()
    sign_in(page, entra, eam_live, person)
    choose(page, app, "totp")
    # The next step's code (within the factor's skew): the current one proved the factor.
    enter_code(page, totp.at(time.time() + totp.interval))
    signed_in(page, entra, "otp")


def test_a_fraud_report_denies_and_blocks_the_number(page, entra, eam_live, service, standin):
    person = Person(eam_live, service.sid, standin)
    mobile = person.phone("mobile", MOBILE, MOBILE)
    standin.set_callee(MOBILE, answer="human", keys=["0", "#"])
    sign_in(page, entra, eam_live, person)
    choose(page, mobile, "call_approve")
    assert "reported as fraud" in run_call(standin, MOBILE)["said"][-1]
    result = entra.wait_for_result(timeout=30)
    assert (result["outcome"], result["error"], result["id_token"]) == ("error", "access_denied", None), result
    expect(page.locator("#outcome")).to_have_text("error=access_denied")
    assert person.challenge(mobile, status=403)["code"] == 60605  # the number is blocked


def test_a_person_who_hangs_up_gets_no_answer_posted(page, entra, eam_live, service, standin):
    person = Person(eam_live, service.sid, standin)
    mobile = person.phone("mobile", MOBILE, MOBILE)
    standin.set_callee(MOBILE, answer="human", keys=["hangup"])
    sign_in(page, entra, eam_live, person)
    choose(page, mobile, "call_approve")
    assert run_call(standin, MOBILE)["status"] == "completed"
    # The person is told, on telverify's page, and may try again or another way: Entra has no answer yet.
    expect(page.locator("body")).to_contain_text(re.compile(r"hung up|ended|did not|didn't|try again", re.I))
    expect(method(page, mobile, "call_approve")).to_be_visible()
    assert page.url.startswith(eam_live.url) and entra.results() == []


SHORT_SIGNIN = 6  # s: a sign-in's lifetime in the timeout test, below the environment's minimum of 30


@pytest.fixture
def real_time_standin():
    """A Twilio stand-in whose calls run at real speed: an unanswered call rings telverify's full
    30 seconds, longer than the short sign-in it was started for."""
    with StandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=1.0) as server:
        yield server


@pytest.fixture
def short_eam_live(redis_url, real_time_standin, entra, service):
    """telverify whose sign-ins last SHORT_SIGNIN seconds: set on the Settings the app is built
    with, as EAM_SIGNIN_SECONDS cannot go below 30 (docs/entra.md)."""
    def settings(url: str):
        loaded = load_settings(eam_env(redis_url, real_time_standin.base_url, url, entra, service.sid))
        return dataclasses.replace(loaded, eam=dataclasses.replace(loaded.eam, signin_seconds=SHORT_SIGNIN))
    with LiveServer(settings) as server:
        entra.provider_discovery_url = f"{server.url}/.well-known/openid-configuration"
        entra.clear()
        yield server


def test_a_sign_in_left_past_its_time_tells_the_person_and_posts_nothing(browser, entra, short_eam_live, service,
                                                                          real_time_standin):
    standin = real_time_standin
    person = Person(short_eam_live, service.sid, standin)
    mobile = person.phone("mobile", MOBILE, MOBILE)
    standin.set_callee(MOBILE, answer="interactive")  # it rings, and nobody picks up
    for page in browse(browser, entra, short_eam_live):
        sign_in(page, entra, short_eam_live, person)
        expect(page.locator("body")).to_contain_text(f"You have {SHORT_SIGNIN} seconds to finish")
        choose(page, mobile, "call_approve")
        opened = time.monotonic()
        expect(page.locator("#live")).to_contain_text("Answer and press # to approve")
        call = standin.wait_for_call(MOBILE, timeout=10)
        # The calling page finds the sign-in over by itself and says so, while the phone still rings.
        expect(page.get_by_role("alert")).to_contain_text(
            f"This sign-in timed out: it has to be finished within {SHORT_SIGNIN} seconds", timeout=WAIT_MS)
        assert time.monotonic() - opened < SHORT_SIGNIN + 5
        assert standin.call(call["sid"])["status"] == "ringing"
        expect(page.locator("form")).to_have_count(0)  # nothing left to press, nothing posted
        # The person answers late: the call ended with the sign-in, and says so; nothing is approved.
        standin.answer_call(call["sid"])
        ended = standin.wait_for_call_end(call["sid"], timeout=30)
        assert ended["status"] == "completed" and "no longer active" in ended["said"][0], ended
        assert not [text for text in ended["said"] if "approved" in text], ended
        assert not [event for event in ended["transcript"] if event["type"] == "application_error"]
        challenges = requests.get(f"{person.base}/Challenges", auth=AUTH, timeout=10).json()["challenges"]
        signins = [c for c in challenges if (c["details"] or {}).get("message") == "Microsoft Entra sign-in"]
        assert [c["status"] for c in signins] == ["expired"]
        assert page.url.startswith(short_eam_live.url)
        time.sleep(0.5)  # an answer posted now would have reached the stand-in by then
        assert entra.results() == []


# -- hints telverify must refuse, posted as Entra's form is ----------------------------------------
def posted(page_text: str) -> dict:
    """The fields of the auto-submitting form a page holds (an OIDC answer), by name."""
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page_text))


def assert_refused(entra, endpoint: str, fields: dict, error: str | None = None) -> None:
    answer = requests.post(endpoint, data=fields, timeout=10)
    assert answer.status_code < 500, answer.text
    assert 'name="id_token"' not in answer.text
    back = posted(answer.text)
    if "error" in back:  # an OIDC error posted back: Entra hears it
        assert back["state"] == fields["state"] and (error is None or back["error"] == error), back
        assert f'action="{entra.redirect_uri}"' in answer.text
        requests.post(entra.redirect_uri, data=back, timeout=10)
        assert entra.wait_for_result(fields["state"])["outcome"] == "error"
    else:  # a plain error page
        assert answer.status_code >= 400, answer.text


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "valid"])
def test_a_spoiled_hint_is_refused(eam_live, entra, kind):
    endpoint, fields = entra.authorize(kind=kind)
    assert endpoint == f"{eam_live.url}/eam/authorize"
    assert_refused(entra, endpoint, fields, "access_denied" if kind == "not_allowed_tenant" else None)


def test_a_hint_is_taken_once(eam_live, entra, service, standin):
    person = Person(eam_live, service.sid, standin)
    person.app()
    endpoint, fields = entra.authorize(oid=person.oid)
    first = requests.post(endpoint, data=fields, timeout=10)
    assert first.status_code == 200 and "error" not in posted(first.text) and "id_token" not in posted(first.text)
    _, again = entra.authorize(oid=person.oid, hint=fields["id_token_hint"])  # replayed
    assert_refused(entra, endpoint, again)
