"""/my/'s first step through the organisation's OpenID Connect provider (tests/oidc_provider.py)
over real HTTP: a person signed in, and every spoiled answer refused: an ID token signed by
another key, for another client or issuer, for another sign-in's nonce, expired; a `state` used
twice, or carried to another browser; a person who says no at their provider."""
from __future__ import annotations

import re

import pytest
import requests

from config import ConfigError, load_settings
from tests.oidc_provider import SPOILS, OidcProvider
from tests.support import ADMIN_KEY, ADMIN_SECRET, LiveServer, make_env

CLIENT_ID, CLIENT_SECRET = "telverify-my-pages", "a client secret of the test provider"
REFUSED = "Your organisation's sign-in didn't complete. Please try again."


@pytest.fixture(scope="module")
def provider():
    with OidcProvider(CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def org_live(redis_url, standin, service, provider):
    provider.spoil, provider.deny = None, False

    def env(url: str) -> dict:
        provider.redirect_uri = f"{url}/my/signin/callback"
        return make_env(redis_url, standin.base_url, url, MY_SERVICE_SID=service.sid, MY_OIDC_ISSUER=provider.issuer,
                        MY_OIDC_CLIENT_ID=CLIENT_ID, MY_OIDC_CLIENT_SECRET=CLIENT_SECRET,
                        MY_OIDC_IDENTITY_CLAIM="oid")
    with LiveServer(env) as server:
        yield server


def start(live) -> tuple[requests.Session, str]:
    """A browser that pressed "Sign in with your organisation's account": the URL the provider
    sends it back to (not followed yet)."""
    browser = requests.Session()
    page = browser.get(f"{live.url}/my/signin", timeout=10).text
    assert "Sign in with your organisation's account" in page and 'name="password"' not in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    to_provider = browser.post(f"{live.url}/my/signin/organisation", data={"token": token}, timeout=10,
                               allow_redirects=False)
    assert to_provider.status_code == 303
    cookie = next(c for c in to_provider.raw.headers.getlist("Set-Cookie") if c.startswith("my_flow="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    back = browser.get(to_provider.headers["Location"], timeout=10, allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"].startswith(f"{live.url}/my/signin/callback?")
    return browser, back.headers["Location"]


def test_a_person_signs_in_with_their_organisations_account(org_live, provider, service):
    browser, callback = start(org_live)
    answer = browser.get(callback, timeout=10)
    assert answer.status_code == 200 and 'http-equiv="refresh"' in answer.text
    assert "my_session" in browser.cookies
    home = browser.get(f"{org_live.url}/my/", timeout=10)
    assert home.url == f"{org_live.url}/my/" and "More information required" in home.text
    # The person is the Entity whose Identity is the ID token's oid claim (MY_OIDC_IDENTITY_CLAIM).
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    assert browser.post(f"{org_live.url}/my/methods/app", data={"csrf": csrf}, timeout=10).status_code == 200
    entity = requests.get(f"{org_live.url}/admin/Services/{service.sid}/Entities/{provider.user['oid']}",
                          auth=(ADMIN_KEY, ADMIN_SECRET), timeout=10)
    assert entity.status_code == 200, entity.text


@pytest.mark.parametrize("spoil", SPOILS)
def test_a_spoiled_id_token_is_refused(org_live, provider, spoil):
    browser, callback = start(org_live)
    provider.spoil = spoil
    answer = browser.get(callback, timeout=10)
    assert answer.status_code == 401 and REFUSED in answer.text.replace("&#39;", "'")
    assert "my_session" not in browser.cookies


def test_a_state_is_used_once(org_live):
    browser, callback = start(org_live)
    assert browser.get(callback, timeout=10).status_code == 200
    assert browser.get(callback, timeout=10).status_code == 401


def test_a_state_carried_to_another_browser_is_refused(org_live):
    _, callback = start(org_live)
    stranger = requests.Session()
    answer = stranger.get(callback, timeout=10)
    assert answer.status_code == 401 and "my_session" not in stranger.cookies


def test_a_person_who_says_no_at_their_provider(org_live, provider):
    provider.deny = True
    issued = provider.tokens_issued
    browser, callback = start(org_live)
    assert "error=access_denied" in callback
    assert browser.get(callback, timeout=10).status_code == 401
    assert provider.tokens_issued == issued and "my_session" not in browser.cookies  # no code was exchanged


def test_a_provider_that_cannot_be_reached(redis_url, standin, service):
    env = make_env(redis_url, standin.base_url, "http://127.0.0.1", MY_SERVICE_SID=service.sid,
                   MY_OIDC_ISSUER="http://127.0.0.1:9/nowhere", MY_OIDC_CLIENT_ID=CLIENT_ID,
                   MY_OIDC_CLIENT_SECRET=CLIENT_SECRET)
    with LiveServer(lambda url: {**env, "PUBLIC_BASE_URL": url}) as server:
        browser = requests.Session()
        page = browser.get(f"{server.url}/my/signin", timeout=10).text
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        answer = browser.post(f"{server.url}/my/signin/organisation", data={"token": token}, timeout=10)
        assert answer.status_code == 503 and "reach your organisation" in answer.text


def test_settings_need_the_client_with_the_issuer():
    env = make_env("redis://127.0.0.1:1/0", "http://127.0.0.1:1", "http://localhost", MY_SERVICE_SID="VA" + "0" * 32,
                   MY_OIDC_ISSUER="http://idp.example.com/tenant")
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert "MY_OIDC_ISSUER must be the provider's issuer, an https:// URL" in str(refused.value)
    assert "MY_OIDC_ISSUER needs MY_OIDC_CLIENT_ID and MY_OIDC_CLIENT_SECRET" in str(refused.value)
    settings = load_settings({**env, "MY_OIDC_ISSUER": "https://idp.example.com/tenant/",
                              "MY_OIDC_CLIENT_ID": CLIENT_ID, "MY_OIDC_CLIENT_SECRET": CLIENT_SECRET})
    assert settings.my.oidc.issuer == "https://idp.example.com/tenant" and settings.my.oidc.identity_claim == "sub"
    assert settings.my.demo_people == {}
