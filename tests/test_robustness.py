"""Bad requests of every kind: none of them is a 500, and every error is in Twilio's JSON shape
({code, message, more_info, status}, status equal to the HTTP status)."""
import base64
import json
import signal
import threading

import pytest
import redis

from tests.support import (
    API_KEY,
    API_SECRET,
    MOBILE,
    Gunicorn,
    create_app,
    free_port,
    make_env,
    raw_http,
    start_redis,
    stored_checks,
    stored_records,
)
from verify.form_request import MAX_BODY

GOOD = "good"  # the `auth` fixture's credentials
ZERO_SERVICE = "VA" + "0" * 32
ZERO_VERIFICATION = "VE" + "0" * 32


def assert_twilio_error(response, status: int, code: int | None = None, *words: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json, response.headers.get("Content-Type")
    body = response.get_json()
    assert set(body) == {"code", "message", "more_info", "status"}, body
    assert body["status"] == status
    assert isinstance(body["code"], int)
    if code is not None:
        assert body["code"] == code, body
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
    assert isinstance(body["message"], str) and body["message"].strip()
    for word in words:
        assert word in body["message"], body["message"]
    return body


@pytest.fixture
def ids(client, auth, standin):
    """A real service and a pending verification to aim the bad requests at."""
    created = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth)
    assert created.status_code == 201, created.get_json()
    service = created.get_json()["sid"]
    started = client.post(f"/v2/Services/{service}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                          auth=auth)
    assert started.status_code == 201, started.get_json()
    return {"service": service, "verification": started.get_json()["sid"]}


def basic(user: bytes, password: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(user + b":" + password).decode()}


def send(client, auth, ids, method, path, data=None, credentials=GOOD, headers=None, **kwargs):
    path = path.format(**ids)
    options = dict(headers=headers or {}, **kwargs)
    if data is not None:
        options["data"] = data
    if credentials == GOOD:
        options["auth"] = auth
    elif credentials is not None:
        options["auth"] = credentials
    return client.open(path, method=method, **options)


# (id, method, path, data, expected status, expected code, words in the message)
CASES = [
    # unknown paths
    ("root", "GET", "/", None, 404, 20404, ()),
    ("unknown-top", "GET", "/nope", None, 404, 20404, ()),
    ("v1", "GET", "/v1/Services", None, 404, 20404, ()),
    ("v2-bare", "GET", "/v2", None, 404, 20404, ()),
    ("lowercase-services", "GET", "/v2/services", None, 404, 20404, ()),
    # werkzeug redirected these (308, an HTML page) to the path with one slash
    ("double-slash", "GET", "/v2//Services", None, 404, 20404, ()),
    ("empty-service-sid", "POST", "/v2/Services//VerificationCheck", {"To": MOBILE, "Code": "123456"}, 404, 20404,
     ()),
    ("under-service", "GET", "/v2/Services/{service}/Nope", None, 404, 20404, ()),
    ("under-verification", "POST", "/v2/Services/{service}/Verifications/{verification}/Extra", {}, 404, 20404,
     ()),
    ("json-suffix", "GET", "/v2/Services/{service}.json", None, 404, 20404, ()),
    # wrong methods
    ("put-services", "PUT", "/v2/Services", {}, 405, 20004, ()),
    ("delete-services", "DELETE", "/v2/Services", None, 405, 20004, ()),
    ("patch-service", "PATCH", "/v2/Services/{service}", {}, 405, 20004, ()),
    ("get-verifications", "GET", "/v2/Services/{service}/Verifications", None, 405, 20004, ()),
    ("delete-verification", "DELETE", "/v2/Services/{service}/Verifications/{verification}", None, 405, 20004,
     ()),
    ("get-check", "GET", "/v2/Services/{service}/VerificationCheck", None, 405, 20004, ()),
    ("post-live", "POST", "/healthz/live", {}, 405, 20004, ()),
    ("get-sms-status", "GET", "/sms/status", None, 405, 20004, ()),
    # garbage sids in paths
    ("service-garbage", "GET", "/v2/Services/not-a-sid", None, 404, 20404, ()),
    ("service-uppercase-hex", "GET", "/v2/Services/VA" + "ABCDEF01" * 4, None, 404, 20404, ()),
    ("service-well-formed-unknown", "GET", f"/v2/Services/{ZERO_SERVICE}", None, 404, 20404, ()),
    ("service-too-long", "GET", f"/v2/Services/{ZERO_SERVICE}0", None, 404, 20404, ()),
    ("service-nul", "GET", "/v2/Services/%00", None, 404, 20404, ()),
    ("service-unicode", "GET", "/v2/Services/%C3%BCn%C3%AFc%C3%B6de%F0%9F%92%A5", None, 404, 20404, ()),
    ("service-bad-utf8", "GET", "/v2/Services/%FF%FE", None, 404, 20404, ()),
    ("service-verification-sid", "GET", "/v2/Services/{verification}", None, 404, 20404, ()),
    ("update-garbage-service", "POST", "/v2/Services/garbage", {"FriendlyName": "x"}, 404, 20404, ()),
    ("delete-garbage-service", "DELETE", "/v2/Services/garbage", None, 404, 20404, ()),
    ("verification-garbage", "GET", "/v2/Services/{service}/Verifications/VEgarbage", None, 404, 20404, ()),
    ("verification-well-formed-unknown", "GET", f"/v2/Services/{{service}}/Verifications/{ZERO_VERIFICATION}",
     None, 404, 20404, ()),
    ("verification-service-sid", "GET", "/v2/Services/{service}/Verifications/{service}", None, 404, 20404, ()),
    ("verification-under-garbage-service", "GET", "/v2/Services/garbage/Verifications/{verification}", None,
     404, 20404, ()),
    ("verification-under-other-service", "GET", f"/v2/Services/{ZERO_SERVICE}/Verifications/{{verification}}",
     None, 404, 20404, ()),
    ("start-under-garbage-service", "POST", "/v2/Services/garbage/Verifications",
     {"To": MOBILE, "Channel": "sms"}, 404, 20404, ()),
    ("start-under-unknown-service", "POST", f"/v2/Services/{ZERO_SERVICE}/Verifications",
     {"To": MOBILE, "Channel": "sms"}, 404, 20404, ()),
    ("cancel-garbage-verification", "POST", "/v2/Services/{service}/Verifications/VEgarbage",
     {"Status": "canceled"}, 404, 20404, ()),
    ("cancel-unknown-verification", "POST", f"/v2/Services/{{service}}/Verifications/{ZERO_VERIFICATION}",
     {"Status": "canceled"}, 404, 20404, ()),
    ("check-under-garbage-service", "POST", "/v2/Services/garbage/VerificationCheck",
     {"To": MOBILE, "Code": "123456"}, 404, 20404, ()),
    ("check-garbage-verification-sid", "POST", "/v2/Services/{service}/VerificationCheck",
     {"VerificationSid": "VEgarbage", "Code": "123456"}, 404, 20404, ()),
    ("check-unknown-verification-sid", "POST", "/v2/Services/{service}/VerificationCheck",
     {"VerificationSid": ZERO_VERIFICATION, "Code": "123456"}, 404, 20404, ()),
    ("check-unknown-number", "POST", "/v2/Services/{service}/VerificationCheck",
     {"To": "+447400999999", "Code": "123456"}, 404, 20404, ()),
    # To: unicode, control characters, length
    ("to-emoji", "POST", "/v2/Services/{service}/Verifications", {"To": "💥💥💥", "Channel": "sms"}, 400, 60200,
     ("`To`",)),
    ("to-nul-only", "POST", "/v2/Services/{service}/Verifications", {"To": "\x00", "Channel": "sms"}, 400, 60200,
     ("`To`",)),
    ("to-control-only", "POST", "/v2/Services/{service}/Verifications", {"To": "\x01\x02\x1b[31m", "Channel": "sms"},
     400, 60200, ("`To`",)),
    ("to-fullwidth-letters", "POST", "/v2/Services/{service}/Verifications", {"To": "ＡＢＣ", "Channel": "sms"},
     400, 60200, ("`To`",)),
    ("to-blank", "POST", "/v2/Services/{service}/Verifications", {"To": "   ", "Channel": "sms"}, 400, 60200,
     ("`To`",)),
    ("to-missing", "POST", "/v2/Services/{service}/Verifications", {"Channel": "sms"}, 400, 60200, ("`To`",)),
    ("to-65-chars", "POST", "/v2/Services/{service}/Verifications", {"To": "+" + "4" * 64, "Channel": "sms"},
     400, 60200, ("`To`",)),
    ("to-very-long", "POST", "/v2/Services/{service}/Verifications", {"To": "+44" + "7" * 20000, "Channel": "sms"},
     400, 60200, ("`To`",)),
    ("to-too-long-number", "POST", "/v2/Services/{service}/Verifications", {"To": "+4474001234567890",
                                                                            "Channel": "sms"}, 400, 60200, ("`To`",)),
    ("to-no-country", "POST", "/v2/Services/{service}/Verifications", {"To": "07400123456", "Channel": "sms"},
     400, 60200, ("`To`",)),
    ("to-landline", "POST", "/v2/Services/{service}/Verifications", {"To": "+442079460000", "Channel": "sms"},
     400, 60205, ()),
    ("check-to-emoji", "POST", "/v2/Services/{service}/VerificationCheck", {"To": "💥", "Code": "123456"}, 400,
     60200, ("`To`",)),
    # FriendlyName
    ("friendly-name-nul", "POST", "/v2/Services", {"FriendlyName": "Acme\x00"}, 400, 60200, ("FriendlyName",)),
    ("friendly-name-newline", "POST", "/v2/Services", {"FriendlyName": "Acme\nEvil"}, 400, 60200,
     ("FriendlyName",)),
    ("friendly-name-escape", "POST", "/v2/Services", {"FriendlyName": "\x1b[2JAcme"}, 400, 60200,
     ("FriendlyName",)),
    ("friendly-name-markup", "POST", "/v2/Services", {"FriendlyName": "<b>Acme</b>"}, 400, 60200,
     ("FriendlyName",)),
    ("friendly-name-long-unicode", "POST", "/v2/Services", {"FriendlyName": "é" * 65}, 400, 60200,
     ("FriendlyName",)),
    ("update-friendly-name-control", "POST", "/v2/Services/{service}", {"FriendlyName": "A\x07"}, 400, 60200,
     ("FriendlyName",)),
    ("json-body", "POST", "/v2/Services", json.dumps({"FriendlyName": "Acme"}), 400, 60200, ("FriendlyName",)),
    # Code
    ("code-missing", "POST", "/v2/Services/{service}/VerificationCheck", {"To": MOBILE}, 400, 60200, ("`Code`",)),
    ("code-blank", "POST", "/v2/Services/{service}/VerificationCheck", {"To": MOBILE, "Code": "  "}, 400, 60200,
     ("`Code`",)),
    ("code-too-long", "POST", "/v2/Services/{service}/VerificationCheck", {"To": MOBILE, "Code": "1" * 11}, 400,
     60200, ("`Code`",)),
    ("code-long-unicode", "POST", "/v2/Services/{service}/VerificationCheck", {"To": MOBILE, "Code": "💥" * 50},
     400, 60200, ("`Code`",)),
    # Tags
    ("tags-not-json", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Tags": "{not json"}, 400, 60200, ("`Tags`",)),
    ("tags-array", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Tags": '["a", "b"]'}, 400, 60200, ("`Tags`",)),
    ("tags-number-value", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Tags": '{"a": 1}'}, 400, 60200, ("`Tags`",)),
    ("tags-too-many", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Tags": json.dumps({f"k{n}": "v" for n in range(11)})}, 400, 60200,
     ("`Tags`",)),
    ("tags-value-too-long", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Tags": json.dumps({"k": "v" * 129})}, 400, 60200, ("`Tags`",)),
    ("tags-deeply-nested", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Tags": "[" * 5000 + "]" * 5000}, 400, 60200, ("`Tags`",)),
    # SendDigits
    ("send-digits-letters", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "call", "SendDigits": "12ab"}, 400, 60200, ("`SendDigits`",)),
    ("send-digits-empty", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "call", "SendDigits": ""}, 400, 60200, ("`SendDigits`",)),
    ("send-digits-too-many", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "call", "SendDigits": "1" * 33}, 400, 60200, ("`SendDigits`",)),
    ("send-digits-with-sms", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "SendDigits": "1234"}, 400, 60200, ("`SendDigits`", "sms")),
    # Channel
    ("channel-bogus", "POST", "/v2/Services/{service}/Verifications", {"To": MOBILE, "Channel": "bogus"}, 400,
     60200, ("`Channel`",)),
    ("channel-missing", "POST", "/v2/Services/{service}/Verifications", {"To": MOBILE}, 400, 60200,
     ("`Channel`",)),
    ("channel-unicode", "POST", "/v2/Services/{service}/Verifications", {"To": MOBILE, "Channel": "ѕмѕ"}, 400,
     60200, ("`Channel`",)),
    ("channel-email-not-enabled", "POST", "/v2/Services/{service}/Verifications", {"To": MOBILE, "Channel": "email"},
     400, 60223, ("email",)),
    ("extension-on-sms", "POST", "/v2/Services/{service}/Verifications",
     {"To": "+1 212 555 0123 x123", "Channel": "sms"}, 400, 60200, ("extension", "call")),
    ("extension-and-send-digits", "POST", "/v2/Services/{service}/Verifications",
     {"To": "+1 212 555 0123 x123", "Channel": "call", "SendDigits": "1"}, 400, 60200, ("not both",)),
    ("channel-whatsapp-not-enabled", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "whatsapp"}, 400, 60223, ("whatsapp",)),
    # other start parameters
    ("start-unknown-parameter", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Colour": "blue"}, 400, 60200, ("Colour",)),
    ("start-unsupported-parameter", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "CustomMessage": "hi"}, 400, 60200, ("CustomMessage", "not supported")),
    ("custom-friendly-name-control", "POST", "/v2/Services/{service}/Verifications",
     {"To": "+447400123457", "Channel": "sms", "CustomFriendlyName": "Evil\x00\n<b>"}, 400, 60200,
     ("CustomFriendlyName",)),
    ("locale-bogus", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Locale": "xx"}, 400, 60200, ("`Locale`",)),
    ("locale-unicode", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "Locale": "ën-💥"}, 400, 60200, ("`Locale`",)),
    ("custom-code-not-enabled", "POST", "/v2/Services/{service}/Verifications",
     {"To": MOBILE, "Channel": "sms", "CustomCode": "123456"}, 400, 60200, ("`CustomCode`",)),
    # Status on update
    ("status-pending", "POST", "/v2/Services/{service}/Verifications/{verification}", {"Status": "pending"}, 400,
     60200, ("`Status`",)),
    ("status-missing", "POST", "/v2/Services/{service}/Verifications/{verification}", {}, 400, 60200,
     ("`Status`",)),
    ("status-bogus", "POST", "/v2/Services/{service}/Verifications/{verification}", {"Status": "💥"}, 400, 60200,
     ("`Status`",)),
    ("status-extra-parameter", "POST", "/v2/Services/{service}/Verifications/{verification}",
     {"Status": "canceled", "Code": "1"}, 400, 60200, ("Code",)),
    # VerificationCheck: To and VerificationSid
    ("check-both-to-and-sid", "POST", "/v2/Services/{service}/VerificationCheck",
     {"To": MOBILE, "VerificationSid": "{verification}", "Code": "123456"}, 400, 60200,
     ("`To`", "`VerificationSid`")),
    ("check-neither-to-nor-sid", "POST", "/v2/Services/{service}/VerificationCheck", {"Code": "123456"}, 400,
     60200, ("`To`", "`VerificationSid`")),
    ("check-unsupported", "POST", "/v2/Services/{service}/VerificationCheck",
     {"To": MOBILE, "Code": "123456", "Amount": "10"}, 400, 60200, ("Amount", "not supported")),
    # listing
    ("list-page-size-zero", "GET", "/v2/Services?PageSize=0", None, 400, 60200, ("PageSize",)),
    ("list-page-garbage", "GET", "/v2/Services?Page=%F0%9F%92%A5", None, 400, 60200, ("Page",)),
    ("list-page-token-garbage", "GET", "/v2/Services?PageToken=PT-1", None, 400, 60200, ("PageToken",)),
]


# Bugs in the app these tests found; each case stays, expected to fail until the app is fixed.


@pytest.mark.parametrize("method, path, data, status, code, words", [
    pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_request_is_a_twilio_error(client, auth, ids, method, path, data, status, code, words):
    if isinstance(data, dict):
        data = {name: value.format(**ids) if name == "VerificationSid" else value for name, value in data.items()}
    headers = {"Content-Type": "application/json"} if isinstance(data, str) else None
    response = send(client, auth, ids, method, path, data=data, headers=headers)
    assert_twilio_error(response, status, code, *words)


def test_bad_requests_change_nothing(client, auth, ids, standin):
    """After every bad request above, the one verification is still pending, only its own text was
    sent, and the one service is unchanged."""
    for case in CASES:
        name, method, path, data, *_ = case
        if isinstance(data, dict):
            data = {name: value.format(**ids) if name == "VerificationSid" else value for name, value in data.items()}
        send(client, auth, ids, method, path, data=data if not isinstance(data, str) else None)
    fetched = client.get("/v2/Services/{service}/Verifications/{verification}".format(**ids), auth=auth)
    assert fetched.status_code == 200
    assert fetched.get_json()["status"] == "pending"
    assert len(standin.messages()) == 1
    services = client.get("/v2/Services", auth=auth).get_json()["services"]
    assert [s["sid"] for s in services] == [ids["service"]]
    assert services[0]["friendly_name"] == "Acme"


# -- authentication ------------------------------------------------------------------------------

AUTH_CASES = [
    ("none", None, None),
    ("wrong-secret", (API_KEY, "not-the-secret-at-all"), None),
    ("unknown-key", ("nobody", API_SECRET), None),
    ("empty-password", (API_KEY, ""), None),
    ("other-apps-secret", (API_KEY, "second-app-secret-0123"), None),
    ("bearer", None, {"Authorization": f"Bearer {API_SECRET}"}),
    ("basic-not-base64", None, {"Authorization": "Basic !!!not-base64!!!"}),
    ("basic-empty", None, {"Authorization": "Basic"}),
    ("basic-no-colon", None, {"Authorization": "Basic " + base64.b64encode(API_KEY.encode()).decode()}),
    ("basic-not-utf8", None, basic(b"\xff\xfe", b"\xff")),
    ("basic-unicode", None, basic("rélying-äpp".encode(), "sëcret💥".encode())),
    # bytes beyond ASCII sent as they are, which the server hands on as latin-1 characters
    ("basic-raw-bytes", None, {"Authorization": "Basic \xff\xfe"}),
    ("basic-raw-latin1", None, {"Authorization": "Basic caf\xe9"}),
    ("basic-raw-after-base64", None, {"Authorization": basic(API_KEY.encode(), b"x")["Authorization"] + "\xe9"}),
]


@pytest.mark.parametrize("credentials, headers", [c[1:] for c in AUTH_CASES], ids=[c[0] for c in AUTH_CASES])
@pytest.mark.parametrize("method, path, data", [
    ("GET", "/v2/Services", None),
    ("POST", "/v2/Services", {"FriendlyName": "Acme"}),
    ("GET", "/v2/Services/{service}", None),
    ("DELETE", "/v2/Services/{service}", None),
    ("POST", "/v2/Services/{service}/Verifications", {"To": MOBILE, "Channel": "sms"}),
    ("POST", "/v2/Services/{service}/VerificationCheck", {"To": MOBILE, "Code": "123456"}),
    ("POST", "/v2/Services/{service}/Verifications/{verification}", {"Status": "approved"}),
], ids=["list", "create", "fetch", "delete", "start", "check", "approve"])
def test_unauthenticated_requests_are_401(client, auth, ids, standin, method, path, data, credentials, headers):
    response = send(client, auth, ids, method, path, data=data, credentials=credentials, headers=headers)
    assert_twilio_error(response, 401, 20003)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    # Refused before anything happened.
    assert client.get("/v2/Services/{service}/Verifications/{verification}".format(**ids),
                      auth=auth).get_json()["status"] == "pending"
    assert len(standin.messages(MOBILE)) == 1


def test_second_application_credentials_work_on_their_own_account(client, ids):
    second = ("second-app", "second-app-secret-0123")
    assert_twilio_error(client.get("/v2/Services/{service}".format(**ids), auth=second), 404, 20404)
    created = client.post("/v2/Services", data={"FriendlyName": "Second"}, auth=second)
    assert created.status_code == 201
    assert client.get(f"/v2/Services/{created.get_json()['sid']}", auth=second).status_code == 200


# -- oversized bodies ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v2/Services", "/v2/Services/{service}/Verifications",
                                  "/v2/Services/{service}/VerificationCheck"])
def test_body_over_64_kb_is_413(client, auth, ids, path):
    response = send(client, auth, ids, "POST", path, data={"FriendlyName": "x" * (65 * 1024)})
    assert_twilio_error(response, 413)


def test_body_just_under_64_kb_is_read(client, auth, ids):
    # Read, then refused for what it says (too long a name), not for its size.
    response = client.post("/v2/Services", data={"FriendlyName": "x" * (60 * 1024)}, auth=auth)
    assert_twilio_error(response, 400, 60200, "FriendlyName")


def chunked_post(path: str, body: bytes, chunk: int = 8192) -> bytes:
    """A POST of `body` as a client that does not know its length sends it: in chunks, with no
    Content-Length."""
    credentials = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode())
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n").encode() + b"Authorization: Basic " + credentials
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in
                      (body[start:start + chunk] for start in range(0, len(body), chunk)))
    return head + b"\r\n\r\n" + chunks + b"0\r\n\r\n"


def friendly_name_of_size(size: int) -> bytes:
    """A form of exactly `size` bytes."""
    return b"FriendlyName=" + b"x" * (size - len(b"FriendlyName="))


def test_a_chunked_body_over_64_kb_is_413_over_http(live, redis_url):
    """A chunked body has no Content-Length to refuse it by: one byte over the limit is a 413,
    not a form cut at 64 KB and acted on."""
    status, _, body = raw_http(live.url, chunked_post("/v2/Services", friendly_name_of_size(MAX_BODY + 1)))
    assert status == 413, body
    assert set(body) == {"code", "message", "more_info", "status"} and (body["code"], body["status"]) == (60200, 413)
    assert redis.Redis.from_url(redis_url).keys("*") == []  # no service made of the part read


def test_a_chunked_body_up_to_64_kb_is_read_over_http(live):
    # Exactly at the limit: read whole, then refused for what it says (too long a name).
    status, _, body = raw_http(live.url, chunked_post("/v2/Services", friendly_name_of_size(MAX_BODY)))
    assert (status, body["code"]) == (400, 60200) and "FriendlyName" in body["message"], body
    status, _, body = raw_http(live.url, chunked_post("/v2/Services", b"FriendlyName=Chunked+%C3%81cme", chunk=5))
    assert (status, body["friendly_name"]) == (201, "Chunked Ácme"), body


def test_a_chunked_body_under_gunicorn(tmp_path, redis_url, standin):
    """gunicorn, which serves telverify, ends a chunked body itself too: the same 413 over the
    limit, and a small chunked form read."""
    with Gunicorn(tmp_path, lambda url: make_env(redis_url, standin.base_url, url)) as server:
        status, _, body = raw_http(server.url, chunked_post("/v2/Services", friendly_name_of_size(MAX_BODY + 1)))
        assert (status, body["code"], body["status"]) == (413, 60200, 413), body
        status, _, body = raw_http(server.url, chunked_post("/v2/Services", b"FriendlyName=Chunked", chunk=5))
        assert (status, body["friendly_name"]) == (201, "Chunked"), body
    assert "Traceback" not in server.log()


# -- odd encodings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"FriendlyName=Acme"),  # no boundary
    ("multipart/form-data; boundary=xyz", b"--xyz\r\ngarbage"),
    ("application/x-www-form-urlencoded", b"%zz=%zz&=&&&FriendlyName"),
    ("application/x-www-form-urlencoded", b"\xff\xfe\x00\x01"),
    ("text/plain", b"FriendlyName=Acme"),
])
def test_malformed_bodies_are_refused_cleanly(client, auth, content_type, body):
    response = client.post("/v2/Services", data=body, headers={"Content-Type": content_type}, auth=auth)
    assert_twilio_error(response, 400)


# -- input that is odd but readable --------------------------------------------------------------------

@pytest.mark.parametrize("to", [
    "\x00" + MOBILE, MOBILE + "\x00", MOBILE + "\n", "\u202e" + MOBILE, "+４４７４００１２３４５６",
    "+44 7400 123456", "tel:" + MOBILE,
], ids=["leading-nul", "trailing-nul", "trailing-newline", "rtl-override", "fullwidth-digits", "spaces", "tel-uri"])
def test_odd_to_is_normalised_or_refused(client, auth, ids, standin, to):
    """Either refused as a Twilio error, or read as the plain E.164 number: never a 500, and never
    stored or texted with the odd characters."""
    service = client.post("/v2/Services", data={"FriendlyName": "Odd"}, auth=auth).get_json()["sid"]
    response = client.post(f"/v2/Services/{service}/Verifications", data={"To": to, "Channel": "sms"}, auth=auth)
    if response.status_code >= 400:
        assert_twilio_error(response, 400, 60200, "`To`")
        return
    assert response.status_code == 201
    assert response.get_json()["to"] == MOBILE
    assert standin.wait_for_message(MOBILE, count=2)["to"] == MOBILE


@pytest.mark.parametrize("code", ["１２３４５６", "\x00\x00\x00\x00\x00\x00", "💥", "12345\u200b", "-1", "1e5"])
def test_odd_codes_are_just_wrong(client, auth, ids, code):
    response = client.post("/v2/Services/{service}/VerificationCheck".format(**ids),
                           data={"VerificationSid": ids["verification"], "Code": code}, auth=auth)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["status"], response.get_json()["valid"]) == ("pending", False)


def test_unicode_friendly_name_is_kept(client, auth):
    response = client.post("/v2/Services", data={"FriendlyName": "Ácme 東京 💥"}, auth=auth)
    assert response.status_code == 201
    sid = response.get_json()["sid"]
    assert client.get(f"/v2/Services/{sid}", auth=auth).get_json()["friendly_name"] == "Ácme 東京 💥"


# -- Redis unreachable -----------------------------------------------------------------------------------

@pytest.fixture
def no_redis_client(standin):
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    return create_app(make_env(url, standin.base_url, "http://localhost")).test_client()


@pytest.mark.parametrize("method, path, data", [
    ("GET", "/v2/Services", None),
    ("POST", "/v2/Services", {"FriendlyName": "Acme"}),
    ("GET", f"/v2/Services/{ZERO_SERVICE}", None),
    ("POST", f"/v2/Services/{ZERO_SERVICE}", {"FriendlyName": "Acme"}),
    ("DELETE", f"/v2/Services/{ZERO_SERVICE}", None),
    ("POST", f"/v2/Services/{ZERO_SERVICE}/Verifications", {"To": MOBILE, "Channel": "sms"}),
    ("GET", f"/v2/Services/{ZERO_SERVICE}/Verifications/{ZERO_VERIFICATION}", None),
    ("POST", f"/v2/Services/{ZERO_SERVICE}/Verifications/{ZERO_VERIFICATION}", {"Status": "approved"}),
    ("POST", f"/v2/Services/{ZERO_SERVICE}/VerificationCheck", {"To": MOBILE, "Code": "123456"}),
    ("POST", f"/v2/Services/{ZERO_SERVICE}/VerificationCheck",
     {"VerificationSid": ZERO_VERIFICATION, "Code": "123456"}),
], ids=["list", "create", "fetch", "update", "delete", "start", "fetch-verification", "approve", "check-to",
        "check-sid"])
def test_redis_unreachable_is_503(no_redis_client, standin, method, path, data):
    """A read says nothing was changed; a change cannot be confirmed, and says so (see below why
    an unreachable Redis is not told apart)."""
    response = no_redis_client.open(path, method=method, data=data, auth=(API_KEY, API_SECRET))
    body = assert_twilio_error(response, 503, 20503)
    if method == "GET":
        assert "unavailable; nothing was changed" in body["message"] and "Try again" in body["message"]
    else:
        assert "could not confirm the change" in body["message"] and "may have been applied" in body["message"]
        assert "nothing was changed" not in body["message"]
    assert standin.messages() == []


def test_redis_unreachable_still_checks_credentials_and_parameters(no_redis_client):
    assert_twilio_error(no_redis_client.get("/v2/Services"), 401, 20003)
    assert_twilio_error(no_redis_client.post("/v2/Services", data={}, auth=(API_KEY, API_SECRET)), 400, 60200)


def test_health_with_redis_unreachable(no_redis_client):
    live = no_redis_client.get("/healthz/live")
    assert live.status_code == 200 and live.get_json() == {"status": "ok"}
    ready = no_redis_client.get("/healthz/ready")
    assert_twilio_error(ready, 503, 20503)


def test_health_with_redis_up(client):
    assert client.get("/healthz/live").status_code == 200
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ok"}


# -- Redis stops answering -------------------------------------------------------------------------

@pytest.fixture(params=["tcp", "unix"])
def pausable_redis(request, tmp_path):
    """A redis-server of this test's own, which it may stop (SIGSTOP) and resume: on TCP, and
    on a Unix socket (the kernel keeps the same timeouts there)."""
    process, url = start_redis(str(tmp_path), unix_socket=request.param == "unix")
    yield process, url
    process.send_signal(signal.SIGCONT)
    process.terminate()
    process.wait(10)


def test_a_check_while_redis_is_silent_is_503_and_counted_at_most_once(pausable_redis, standin):
    """Redis accepts the commands but does not answer (stopped, overloaded, a network gone
    quiet): the check's round trip gives up after the client's 2-second timeout, kept by the
    kernel on the hot path's blocking socket, and answers 503. The silent Redis may still run
    the check later, so it is not sent again (not even on a new connection): it counts once."""
    process, url = pausable_redis
    app = create_app(make_env(url, standin.base_url, "http://localhost"))
    client = app.test_client()
    auth = (API_KEY, API_SECRET)
    service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()["sid"]
    sid = client.post(f"/v2/Services/{service}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                      auth=auth).get_json()["sid"]
    check_url = f"/v2/Services/{service}/VerificationCheck"
    answers = []

    def check() -> None:
        answers.append(client.post(check_url, data={"To": MOBILE, "Code": "000000"}, auth=auth))

    def three_checks() -> None:  # on one thread: its hot-path connection is open when Redis stops
        check()
        process.send_signal(signal.SIGSTOP)
        check()  # sent, never answered in time
        process.send_signal(signal.SIGCONT)
        check()

    store = redis.Redis.from_url(url, decode_responses=True)
    connections = store.info("stats")["total_connections_received"]
    thread = threading.Thread(target=three_checks)
    thread.start()
    thread.join(30)
    process.send_signal(signal.SIGCONT)
    assert not thread.is_alive(), "a request hung on a silent Redis"
    assert [a.status_code for a in answers] == [200, 503, 200]
    # Redis ran the check it had not answered: the 503 must not say that nothing was changed.
    body = assert_twilio_error(answers[1], 503, 20503, "may have been applied", "Fetch")
    assert "nothing was changed" not in body["message"]
    assert stored_checks(store, service, sid) == 3
    # The thread's connection, and one more after the timeout dropped it: no second try in between.
    assert store.info("stats")["total_connections_received"] == connections + 2


def test_a_refused_connection_can_follow_a_change_already_applied(tmp_path, standin, caplog):
    """Why a connection error is no proof that nothing was changed: a start stores its verification,
    then Twilio fails, and recording that needs Redis again, which now refuses connections (its
    clients killed, and none let in). The answer is a 503 after a ConnectionError, yet the
    verification is there: sent again, the start re-sends its code, as the message says."""
    process, url = start_redis(str(tmp_path))
    admin = redis.Redis.from_url(url, decode_responses=True)
    try:
        admin.ping()  # connected before the door closes
        client = create_app(make_env(url, standin.base_url, "http://localhost", TWILIO_TIMEOUT_SECONDS="10")
                            ).test_client()
        auth = (API_KEY, API_SECRET)
        service = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()["sid"]
        start_url = f"/v2/Services/{service}/Verifications"
        # Twilio fails after 2 seconds: time for the test to close Redis's door meanwhile.
        standin.add_fault(to=MOBILE, http_status=503, delay=2.0, times=1)
        answers = []
        thread = threading.Thread(target=lambda: answers.append(
            client.post(start_url, data={"To": MOBILE, "Channel": "sms"}, auth=auth)))
        thread.start()
        for _ in range(500):  # the stand-in takes the fault once the start has stored its verification
            if not standin.faults():
                break
            thread.join(0.02)
        assert standin.faults() == [], "the start never reached the stand-in"
        admin.config_set("maxclients", 1)
        admin.client_kill_filter(_type="normal", skipme=True)
        thread.join(30)
        assert not thread.is_alive()
        body = assert_twilio_error(answers[0], 503, 20503, "may have been applied")
        assert "nothing was changed" not in body["message"]
        assert "Redis unavailable: ConnectionError" in caplog.text
        admin.config_set("maxclients", 10000)
        stored = [record["to"] for record in stored_records(admin).values()]
        assert stored == [MOBILE]  # the change the 503 could not confirm
        again = client.post(start_url, data={"To": MOBILE, "Channel": "sms"}, auth=auth)
        assert again.status_code == 201, again.get_json()
        assert len(standin.messages(MOBILE)) == 1  # the text of the start sent again
    finally:
        process.terminate()
        process.wait(10)


def test_a_query_that_is_not_utf8_is_a_400_not_a_500(client, auth):
    """Bytes that are not UTF-8 in the query (which some servers pass on) are read as werkzeug
    reads bad percent-encodings: they stay encoded, and the parameter is refused clearly."""
    answer = client.get("/v2/Services", auth=auth, environ_overrides={"QUERY_STRING": "Page=\xff\xfe"})
    assert_twilio_error(answer, 400, 60200, "Page")
