"""Verify's Entities and TOTP Factors as a relying application uses them: through the official
`twilio` SDK, and raw HTTP where the SDK cannot say it (telverify's extensions, Redis checks)."""
from __future__ import annotations

import base64
import re

import pyotp
import pytest
import redis
import requests
from twilio.base.exceptions import TwilioRestException

from tests.support import API_KEY, API_SECRET, APP_ACCOUNT_SID, SECOND_KEY, SECOND_SECRET, verify_client
from tests.test_verify_spec import conforms

AUTH = (API_KEY, API_SECRET)
IDENTITY = "user-0001-abcdef"
ENTITIES = "/v2/Services/{ServiceSid}/Entities"
FACTORS = ENTITIES + "/{Identity}/Factors"


def _raise(call):
    with pytest.raises(TwilioRestException) as raised:
        call()
    return raised.value


def new_factor(sdk, service_sid, identity=IDENTITY, **options):
    return sdk.verify.v2.services(service_sid).entities(identity).new_factors.create(
        friendly_name=options.pop("friendly_name", "Ana's phone"), factor_type="totp", **options)


def verified_factor(sdk, service_sid, identity=IDENTITY, **options):
    created = new_factor(sdk, service_sid, identity, **options)
    code = pyotp.TOTP(created.binding["secret"]).now()
    factor = sdk.verify.v2.services(service_sid).entities(identity).factors(created.sid).update(auth_payload=code)
    assert factor.status == "verified"
    return created


# -- entities ----------------------------------------------------------------------------------

def test_entity_create_fetch_list_delete(sdk, service, live):
    entities = sdk.verify.v2.services(service.sid).entities
    created = entities.create(identity=IDENTITY)
    assert created.sid.startswith("YE") and len(created.sid) == 34
    assert (created.identity, created.account_sid, created.service_sid) == (IDENTITY, APP_ACCOUNT_SID, service.sid)
    base = f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}"
    assert created.url == base
    assert created.links == {"factors": f"{base}/Factors", "challenges": f"{base}/Challenges"}
    assert created.date_created == created.date_updated

    fetched = entities(IDENTITY).fetch()
    assert (fetched.sid, fetched.identity, fetched.date_created) == (created.sid, IDENTITY, created.date_created)
    entities.create(identity="user-0002-abcdef")
    assert [e.identity for e in entities.list()] == [IDENTITY, "user-0002-abcdef"]
    assert [e.identity for e in entities.list(page_size=1, limit=5)] == [IDENTITY, "user-0002-abcdef"]

    assert entities(IDENTITY).delete() is True
    assert _raise(entities(IDENTITY).fetch).status == 404
    assert _raise(entities(IDENTITY).delete).code == 20404
    assert [e.identity for e in entities.list()] == ["user-0002-abcdef"]


def test_duplicate_identity_is_60301(sdk, service):
    sdk.verify.v2.services(service.sid).entities.create(identity=IDENTITY)
    error = _raise(lambda: sdk.verify.v2.services(service.sid).entities.create(identity=IDENTITY))
    assert (error.status, error.code) == (409, 60301)
    assert IDENTITY in error.msg


@pytest.mark.parametrize("identity", ["short", "x" * 65, "has space-12", "emoji-😀-1234", "under_score1", ""])
def test_identity_must_be_8_to_64_letters_digits_and_dashes(live, service, identity):
    answer = requests.post(f"{live.url}/v2/Services/{service.sid}/Entities", data={"Identity": identity},
                           auth=AUTH, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 60200 and "Identity" in answer.json()["message"]


def test_another_accounts_service_is_404(sdk, service, live):
    sdk.verify.v2.services(service.sid).entities.create(identity=IDENTITY)
    other = verify_client(live.url, SECOND_KEY, SECOND_SECRET)
    for call in (lambda: other.verify.v2.services(service.sid).entities(IDENTITY).fetch(),
                 lambda: other.verify.v2.services(service.sid).entities.create(identity="intruder-123"),
                 lambda: other.verify.v2.services(service.sid).entities(IDENTITY).new_factors.create(
                     friendly_name="x", factor_type="totp")):
        assert (_raise(call).status, _raise(call).code) == (404, 20404)
    assert [e.identity for e in sdk.verify.v2.services(service.sid).entities.list()] == [IDENTITY]


def test_deleting_an_entity_deletes_its_factors_and_challenges(sdk, service, redis_url):
    verified = verified_factor(sdk, service.sid)
    other = new_factor(sdk, service.sid)
    entity = sdk.verify.v2.services(service.sid).entities(IDENTITY)
    entity.challenges.create(factor_sid=verified.sid, auth_payload="000000")
    entity.challenges.create(factor_sid=verified.sid)
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    assert len([k for k in store.scan_iter(f"*{IDENTITY}*")]) >= 6  # entity, 2 factors, 2 challenges, indexes

    entity.delete()
    assert list(store.scan_iter(f"*{IDENTITY}*")) == []
    assert store.zcard(f"tv:{{{service.sid}}}:entities") == 0
    assert _raise(lambda: entity.factors(other.sid).fetch()).status == 404


def test_deleting_a_service_deletes_its_entities(sdk, service, redis_url):
    verified_factor(sdk, service.sid)
    sdk.verify.v2.services(service.sid).delete()
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    assert [k for k in store.scan_iter("*") if service.sid in k] == []


# -- factors -----------------------------------------------------------------------------------

def test_factor_create_answers_the_binding_once(sdk, service, live, redis_url):
    factor = new_factor(sdk, service.sid)
    assert factor.sid.startswith("YF") and factor.entity_sid.startswith("YE")
    assert (factor.status, factor.factor_type, factor.identity) == ("unverified", "totp", IDENTITY)
    assert factor.config == {"alg": "sha1", "skew": 1, "code_length": 6, "time_step": 30}
    secret = factor.binding["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert factor.binding["uri"] == (f"otpauth://totp/Acme:Ana%27s%20phone?secret={secret}&issuer=Acme"
                                     "&algorithm=SHA1&digits=6&period=30")
    svg = factor.binding["qr_svg"]
    assert svg.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(svg.split(",", 1)[1]).startswith(b"<svg")
    # Creating the factor created the entity.
    assert sdk.verify.v2.services(service.sid).entities(IDENTITY).fetch().sid == factor.entity_sid

    fetched = sdk.verify.v2.services(service.sid).entities(IDENTITY).factors(factor.sid).fetch()
    assert (fetched.sid, fetched.status, fetched.friendly_name) == (factor.sid, "unverified", "Ana's phone")
    raw = requests.get(f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors/{factor.sid}",
                       auth=AUTH, timeout=10).json()
    assert "binding" not in raw and secret not in str(raw)
    listed = requests.get(f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors", auth=AUTH,
                          timeout=10).json()
    assert [f["sid"] for f in listed["factors"]] == [factor.sid] and secret not in str(listed)

    # Neither the secret nor its bytes are anywhere in Redis, key or value.
    store = redis.Redis.from_url(redis_url)
    raw_seed = base64.b32decode(secret)
    for key in store.scan_iter("*"):
        kind = store.type(key)
        values = {b"string": lambda: [store.get(key)], b"hash": lambda: list(store.hgetall(key).items()),
                  b"zset": lambda: store.zrange(key, 0, -1)}[kind]()
        blob = repr((key, values)).encode()
        assert secret.encode() not in blob and secret.lower().encode() not in blob and raw_seed not in blob


def test_factor_options_and_service_defaults(sdk, service):
    sdk.verify.v2.services(service.sid).update(totp_issuer="Acme Corp", totp_time_step=60, totp_code_length=8,
                                               totp_skew=0)
    plain = new_factor(sdk, service.sid)
    assert plain.config == {"alg": "sha1", "skew": 0, "code_length": 8, "time_step": 60}
    assert "otpauth://totp/Acme%20Corp:" in plain.binding["uri"] and "&digits=8&period=60" in plain.binding["uri"]
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    chosen = new_factor(sdk, service.sid, binding_secret=secret.lower(), config_alg="sha256", config_time_step=20,
                        config_skew=2, config_code_length=7)
    assert chosen.binding["secret"] == secret
    assert chosen.config == {"alg": "sha256", "skew": 2, "code_length": 7, "time_step": 20}
    assert "algorithm=SHA256&digits=7&period=20" in chosen.binding["uri"]


@pytest.mark.parametrize("data, parameter", [
    ({"FactorType": "push", "FriendlyName": "x"}, "FactorType"),
    ({"FactorType": "passkeys", "FriendlyName": "x"}, "FactorType"),
    ({"FactorType": "totp"}, "FriendlyName"),
    ({"FactorType": "totp", "FriendlyName": "x" * 65}, "FriendlyName"),
    ({"FactorType": "totp", "FriendlyName": "x", "Config.TimeStep": "61"}, "Config.TimeStep"),
    ({"FactorType": "totp", "FriendlyName": "x", "Config.Skew": "3"}, "Config.Skew"),
    ({"FactorType": "totp", "FriendlyName": "x", "Config.CodeLength": "9"}, "Config.CodeLength"),
    ({"FactorType": "totp", "FriendlyName": "x", "Config.Alg": "md5"}, "Config.Alg"),
    ({"FactorType": "totp", "FriendlyName": "x", "Binding.Secret": "not base32!"}, "Binding.Secret"),
    ({"FactorType": "totp", "FriendlyName": "x", "Binding.Secret": "JBSWY3DPEHPK3PXP"}, "Binding.Secret"),
    ({"FactorType": "totp", "FriendlyName": "x", "Binding.PublicKey": "abc"}, "Binding.PublicKey"),
])
def test_factor_create_refusals(live, service, data, parameter):
    answer = requests.post(f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}/Factors", data=data,
                           auth=AUTH, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 60200 and parameter in answer.json()["message"]
    if parameter == "FactorType":
        assert "totp" in answer.json()["message"]


def test_factor_verification_with_a_code(sdk, service):
    factor = new_factor(sdk, service.sid)
    context = sdk.verify.v2.services(service.sid).entities(IDENTITY).factors(factor.sid)
    totp = pyotp.TOTP(factor.binding["secret"])
    wrong = f"{(int(totp.now()) + 1) % 1000000:06d}"
    assert context.update(auth_payload=wrong).status == "unverified"
    assert context.update(auth_payload=totp.now()).status == "verified"
    assert context.fetch().status == "verified"


def test_five_wrong_codes_then_60310(sdk, service):
    factor = new_factor(sdk, service.sid)
    context = sdk.verify.v2.services(service.sid).entities(IDENTITY).factors(factor.sid)
    good = pyotp.TOTP(factor.binding["secret"]).now()
    wrong = f"{(int(good) + 1) % 1000000:06d}"
    for _ in range(5):
        assert context.update(auth_payload=wrong).status == "unverified"
    error = _raise(lambda: context.update(auth_payload=good))
    assert (error.status, error.code) == (429, 60310)
    assert context.fetch().status == "unverified"


def test_factor_update_and_delete(sdk, service):
    factor = new_factor(sdk, service.sid)
    context = sdk.verify.v2.services(service.sid).entities(IDENTITY).factors(factor.sid)
    updated = context.update(friendly_name="Work phone", config_time_step=60, config_code_length=8)
    assert updated.friendly_name == "Work phone"
    assert updated.config == {"alg": "sha1", "skew": 1, "code_length": 8, "time_step": 60}
    # The code is now 8 digits every 60 seconds.
    code = pyotp.TOTP(factor.binding["secret"], digits=8, interval=60).now()
    assert context.update(auth_payload=code).status == "verified"
    assert context.delete() is True
    assert _raise(context.fetch).status == 404
    assert _raise(context.delete).code == 20404


# -- the default factor (telverify's) ---------------------------------------------------------

def _default(live, service_sid, identity=IDENTITY):
    return requests.get(f"{live.url}/v2/Services/{service_sid}/Entities/{identity}", auth=AUTH,
                        timeout=10).json()["default_factor_sid"]


def test_default_factor_rules(sdk, service, live):
    first = new_factor(sdk, service.sid)
    assert _default(live, service.sid) is None  # no factor is verified yet
    second = verified_factor(sdk, service.sid)
    assert _default(live, service.sid) == second.sid  # the first to be verified
    third = verified_factor(sdk, service.sid)
    fourth = verified_factor(sdk, service.sid)
    assert _default(live, service.sid) == second.sid

    url = f"{live.url}/v2/Services/{service.sid}/Entities/{IDENTITY}"
    answer = requests.post(url, data={"DefaultFactorSid": fourth.sid}, auth=AUTH, timeout=10)
    assert answer.status_code == 200 and answer.json()["default_factor_sid"] == fourth.sid
    refused = requests.post(url, data={"DefaultFactorSid": first.sid}, auth=AUTH, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (403, 60318)
    missing = requests.post(url, data={"DefaultFactorSid": "YF" + "0" * 32}, auth=AUTH, timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)
    assert _default(live, service.sid) == fourth.sid

    entity = sdk.verify.v2.services(service.sid).entities(IDENTITY)
    entity.factors(fourth.sid).delete()
    assert _default(live, service.sid) == second.sid  # the next verified one in creation order
    entity.factors(second.sid).delete()
    assert _default(live, service.sid) == third.sid
    entity.factors(third.sid).delete()
    assert _default(live, service.sid) is None  # only the unverified one is left


# -- Verify's schemas --------------------------------------------------------------------------

def test_answers_match_verifys_schemas(live, service):
    api = requests.Session()
    api.auth = AUTH
    base = f"{live.url}/v2/Services/{service.sid}/Entities"

    def check(method, path, url, status, data=None):
        answer = api.request(method, url, data=data, timeout=10)
        assert answer.status_code == status, answer.text
        return conforms(method, path, answer)

    check("post", ENTITIES, base, 201, {"Identity": IDENTITY})
    check("get", ENTITIES + "/{Identity}", f"{base}/{IDENTITY}", 200)
    check("get", ENTITIES, base, 200)
    created = check("post", FACTORS, f"{base}/{IDENTITY}/Factors", 201, {"FactorType": "totp", "FriendlyName": "x"})
    assert created["binding"]["secret"]
    one = f"{base}/{IDENTITY}/Factors/{created['sid']}"
    check("get", FACTORS + "/{Sid}", one, 200)
    check("get", FACTORS, f"{base}/{IDENTITY}/Factors", 200)
    code = pyotp.TOTP(created["binding"]["secret"]).now()
    assert check("post", FACTORS + "/{Sid}", one, 200, {"AuthPayload": code})["status"] == "verified"
    check("delete", FACTORS + "/{Sid}", one, 204)
    check("delete", ENTITIES + "/{Identity}", f"{base}/{IDENTITY}", 204)
