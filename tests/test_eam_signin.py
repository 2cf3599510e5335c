"""The person's second step for Entra, over HTTP as a browser without JavaScript would take it
(`requests`, forms read from each page): an authenticator app's code, a text, a press-# call to an
office phone run by the Twilio stand-in, a fraud report, no method at all, wrong codes, a cancel,
and a sign-in answered once; each answer checked as Entra would (our JWKS, our issuer)."""
from __future__ import annotations

import hashlib
import time

import pyotp
import pytest
import redis
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests import test_eam_provider
from tests.support import (
    API_KEY,
    API_SECRET,
    MOBILE,
    LiveServer,
    code_in,
    make_env,
    run_call,
    start_redis,
    verify_client,
)
from tests.test_eam_provider import OID, REDIRECT, SUB, Page, authorize
from tests.test_phone_factors import DESK_E164, DESK_PHONE, add_phone, created

AUTH = (API_KEY, API_SECRET)
microsoft, eam = test_eam_provider.microsoft, test_eam_provider.eam  # its fixtures, used here too


class Person:
    """OID's methods in the service, and their browser on the sign-in pages."""

    def __init__(self, eam, service_sid: str):
        self.eam, self.service_sid = eam, service_sid
        self.base = f"{eam.url}/v2/Services/{service_sid}/Entities/{OID}"
        self.page: Page | None = None

    def add_app(self) -> pyotp.TOTP:
        factor = requests.post(f"{self.base}/Factors", data={"FactorType": "totp", "FriendlyName": "Phone app"},
                               auth=AUTH, timeout=10).json()
        totp = pyotp.TOTP(factor["binding"]["secret"])
        verified = requests.post(f"{self.base}/Factors/{factor['sid']}", data={"AuthPayload": totp.now()},
                                 auth=AUTH, timeout=10).json()
        assert verified["status"] == "verified"
        return totp

    def add_phone(self, standin, kind: str, number: str, e164: str) -> str:
        """A phone factor, verified by a first challenge as its registration would."""
        factor = created(add_phone(self.eam, self.service_sid, kind, number, identity=OID))
        if kind == "office":
            standin.set_callee(e164, answer="human", keys=["#"])
        challenge = requests.post(f"{self.base}/Challenges", data={"FactorSid": factor["sid"]}, auth=AUTH,
                                  timeout=10).json()
        if kind == "office":
            run_call(standin, e164)
        else:
            code = code_in(standin.wait_for_message(e164))
            requests.post(f"{self.base}/Challenges/{challenge['sid']}", data={"AuthPayload": code}, auth=AUTH,
                          timeout=10)
        for _ in range(50):
            if requests.get(f"{self.base}/Factors/{factor['sid']}", auth=AUTH, timeout=10).json()["status"] == \
                    "verified":
                return factor["sid"]
            time.sleep(0.1)
        raise AssertionError("the phone factor was not verified")

    def arrive(self, hint: str) -> Page:
        answer = authorize(self.eam, hint)
        assert answer.status_code == 200, answer.text
        self.page = Page(answer.text)
        return self.page

    def buttons(self) -> list[tuple[str, str, str]]:
        return [tuple(b) for form in self.page.forms for b in form["buttons"]]

    def press(self, text: str, **fields) -> requests.Response:
        """Submit the form of the button whose text starts with `text`, with `fields` typed in."""
        for form in self.page.forms:
            for name, value, label in form["buttons"]:
                if label.startswith(text):
                    data = {**form["fields"], **({name: value} if name else {}), **fields}
                    answer = requests.post(f"{self.eam.url}{form['action']}", data=data, timeout=10)
                    if answer.status_code == 200:
                        self.page = Page(answer.text)
                    return answer
        raise AssertionError(f"no button {text!r} among {self.buttons()}")


def id_token_claims(eam, posted: dict) -> dict:
    """The id_token's claims, verified as Entra does: our JWKS, RS256, the kid in the header."""
    keys = KeySet.import_key_set(requests.get(f"{eam.url}/eam/jwks", timeout=10).json())
    token = jwt.decode(posted["id_token"], keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256" and token.header["kid"] in [k.kid for k in keys.keys]
    return token.claims


def approved(eam, person: Person, amr: str) -> dict:
    posted = person.page.answer()
    assert posted["to"] == REDIRECT and set(posted) == {"to", "id_token", "state"}
    claims = id_token_claims(eam, posted)
    assert claims["iss"] == eam.url and claims["aud"] == "00001111-aaaa-2222-bbbb-3333cccc4444"
    assert (claims["sub"], claims["nonce"], claims["acr"], claims["amr"]) == (SUB, "nonce-0S6_WzA2Mj",
                                                                              "possessionorinherence", [amr])
    assert claims["exp"] - claims["iat"] == 300 and abs(claims["iat"] - time.time()) < 60
    assert posted["state"] == "state-from-entra"
    return claims


def test_an_authenticator_app_code_answers_with_amr_otp(eam, microsoft, service):
    person = Person(eam, service.sid)
    totp = person.add_app()
    person.arrive(microsoft.hint())
    assert [label for _, _, label in person.buttons()][:1] == ["Use a code from my authenticator app"]
    person.press("Use a code from my authenticator app")
    assert "Enter the code from your authenticator app" in person.page.text
    person.press("Verify", code="000000" if totp.now() != "000000" else "111111")
    assert "That code isn't right" in person.page.text
    person.press("Verify", code=totp.at(time.time() + 30))  # the next step's: the one enrolling took now's
    approved(eam, person, "otp")


def test_a_sign_in_is_answered_once(eam, microsoft, service):
    person = Person(eam, service.sid)
    totp = person.add_app()
    hint = microsoft.hint()
    person.arrive(hint)
    person.press("Use a code from my authenticator app")
    code_page = person.page
    person.press("Verify", code=totp.at(time.time() + 30))
    approved(eam, person, "otp")
    person.page = code_page  # the same form, posted again (the back button, or a replay)
    again = person.press("Verify", code=totp.at(time.time() + 60))
    assert again.status_code == 410 and "This sign-in is finished" in again.text and "id_token" not in again.text
    status = requests.post(f"{eam.url}/eam/signin/status", data={"signin": code_page.forms[0]["fields"]["signin"]},
                           timeout=10).json()
    assert status == {"status": "ended"}
    assert Page(authorize(eam, hint).text).answer()["error"] == "invalid_request"  # nor the hint again


def test_redis_never_holds_a_sign_ins_id(eam, microsoft, service, redis_url):
    """The id in the pages' forms is the sign-in's bearer: Redis names the sign-in by its digest."""
    person = Person(eam, service.sid)
    person.add_app()
    person.arrive(microsoft.hint())
    signin_id = person.page.forms[0]["fields"]["signin"]
    names = [key.decode() for key in redis.Redis.from_url(redis_url).scan_iter("tv:{eam}:signin:*")]
    assert len(names) == 1 and signin_id not in names[0]
    assert names[0].endswith(hashlib.sha256(signin_id.encode()).hexdigest())


def test_a_text_answers_with_amr_sms(eam, microsoft, service, standin):
    person = Person(eam, service.sid)
    person.add_phone(standin, "mobile", MOBILE, MOBILE)
    person.arrive(microsoft.hint())
    labels = [label for _, _, label in person.buttons()]
    assert labels[:2] == ["Text a code to +44 •••• ••••56", "Call +44 •••• ••••56: I'll press # to approve"]
    assert MOBILE not in person.page.text and "7400" not in person.page.text
    person.press("Text a code to")
    assert "We've texted a code to +44 •••• ••••56" in person.page.text
    code = code_in(standin.wait_for_message(MOBILE, count=2))
    person.press("Verify", code=code)
    approved(eam, person, "sms")


def test_an_office_phone_press_pound_answers_with_amr_tel(eam, microsoft, service, standin):
    person = Person(eam, service.sid)
    person.add_phone(standin, "office", DESK_PHONE, DESK_E164)
    standin.set_callee(DESK_E164, answer="human", keys=["#"])
    person.arrive(microsoft.hint())
    person.press("Call +1")
    assert "Answer and press # to approve" in person.page.text and "extension will be dialled" in person.page.text
    signin = person.page.forms[0]["fields"]["signin"]
    assert requests.post(f"{eam.url}/eam/signin/status", data={"signin": signin}, timeout=10).json() == \
        {"status": "pending"}
    run_call(standin, DESK_E164)
    assert requests.post(f"{eam.url}/eam/signin/status", data={"signin": signin}, timeout=10).json() == \
        {"status": "approved"}
    person.press("I've answered: check again")
    approved(eam, person, "tel")


def test_a_fraud_report_answers_access_denied(eam, microsoft, service, standin):
    person = Person(eam, service.sid)
    person.add_phone(standin, "mobile", MOBILE, MOBILE)
    standin.set_callee(MOBILE, answer="human", keys=["0", "#"])
    person.arrive(microsoft.hint())
    person.press("Call +44")
    run_call(standin, MOBILE)
    person.press("I've answered: check again")
    posted = person.page.answer()
    assert (posted["error"], posted["state"]) == ("access_denied", "state-from-entra")
    assert "You reported this call as not yours" in person.page.text


def test_a_person_without_a_usable_method_is_told_and_denied(eam, microsoft, service, standin):
    requests.post(f"{eam.url}/v2/Services/{service.sid}/Entities", data={"Identity": OID}, auth=AUTH, timeout=10)
    created(add_phone(eam, service.sid, "mobile", MOBILE, identity=OID))  # never verified: not offered
    answer = authorize(eam, microsoft.hint())
    assert "no sign-in method set up for you" in answer.text
    assert Page(answer.text).answer()["error"] == "access_denied"


def test_five_wrong_codes_end_the_sign_in(eam, microsoft, service):
    person = Person(eam, service.sid)
    totp = person.add_app()
    person.arrive(microsoft.hint())
    person.press("Use a code from my authenticator app")
    wrong = "000000" if totp.now() != "000000" else "111111"
    for _ in range(4):
        person.press("Verify", code=wrong)
        assert "That code isn't right" in person.page.text
    person.press("Verify", code=wrong)
    assert person.page.answer()["error"] == "access_denied" and "too many wrong codes" in person.page.text


@pytest.mark.parametrize("where", ["methods", "code"])
def test_cancel_answers_access_denied(eam, microsoft, service, where):
    person = Person(eam, service.sid)
    person.add_app()
    person.arrive(microsoft.hint())
    if where == "code":
        person.press("Use a code from my authenticator app")
        person.press("Use a different method")
        assert "Choose how to confirm your sign-in" in person.page.text
    person.press("Cancel this sign-in")
    assert person.page.answer()["error"] == "access_denied"


def test_pages_are_never_cached_framed_or_scripted_from_elsewhere(eam, microsoft, service):
    Person(eam, service.sid).add_app()
    answer = authorize(eam, microsoft.hint())
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Frame-Options"] == "DENY"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "Set-Cookie" not in answer.headers
    assert "Set-Cookie" not in requests.get(f"{eam.url}/healthz/live", timeout=10).headers


def test_an_unknown_sign_in_is_a_plain_page(eam):
    answer = requests.post(f"{eam.url}/eam/signin", data={"signin": "made-up", "action": "check"}, timeout=10)
    assert answer.status_code == 410 and "<form" not in answer.text


def test_redis_lost_mid_sign_in_sends_the_person_back_by_the_pages_own_back(standin, microsoft, tmp_path):
    """Each page's forms carry `back` (where the answer goes, signed): with Redis gone after the
    sign-in opened, a form posted sends the person to Entra with `temporarily_unavailable` and
    Entra's state. A `back` altered in any part, or past its sign-in's end, is not followed."""
    process, url = start_redis(str(tmp_path))
    try:
        with LiveServer(lambda base: make_env(url, standin.base_url, base)) as plain:
            service_sid = verify_client(plain.url).verify.v2.services.create(friendly_name="Contoso").sid
        with LiveServer(lambda base: test_eam_provider.eam_env(url, standin.base_url, base, service_sid,
                                                              microsoft)) as server:
            person = Person(server, service_sid)
            person.add_app()
            person.arrive(microsoft.hint())
            cancel = next(form for form in person.page.forms if form["buttons"][0][1] == "cancel")
            back = cancel["fields"]["back"]
            expires, redirect_uri, state = back.rsplit(".", 1)[0].split(" ", 2)
            assert (redirect_uri, state) == (REDIRECT, "state-from-entra")
            assert 0 < int(expires) - time.time() <= 300
            process.terminate()
            process.wait(10)
            answer = person.press("Cancel this sign-in")
            assert answer.status_code == 200
            assert person.page.answer() == {"to": REDIRECT, "error": "temporarily_unavailable",
                                            "error_description": "the provider is unavailable for the moment",
                                            "state": "state-from-entra"}
            signature = back.rsplit(".", 1)[1]
            for altered in (back.replace("state-from-entra", "state-of-another"),
                            back.replace(expires, str(int(expires) + 3600)),
                            f"{int(time.time()) - 1} {REDIRECT} state-from-entra.{signature}", back[:-2], ""):
                refused = requests.post(f"{server.url}/eam/signin", data={**cancel["fields"], "back": altered,
                                                                          "action": "cancel"}, timeout=10)
                assert refused.status_code == 503 and "<form" not in refused.text, altered
    finally:
        process.kill()
        process.wait(10)
