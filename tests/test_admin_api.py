"""/admin, the help desk's and operator's API: over real HTTP with `requests`, beside the
applications, which use the `twilio` SDK on /v2. Who may call it; each resource, on the second
account's data seen through that account's own calls; the audit log, its filters and pages,
its retention under freezegun and its failure to store (through Flask's test client)."""
from __future__ import annotations

import calendar
import json
import logging
import time

import pytest
import redis
import requests
from freezegun import freeze_time

from app import create_app
from tests.api_asserts import refused
from tests.support import (
    ADMIN_KEY,
    ADMIN_SECRET,
    API_KEY,
    API_SECRET,
    APP_ACCOUNT_SID,
    KEY_SID,
    LANDLINE,
    MOBILE,
    SECOND_KEY,
    SECOND_SECRET,
    code_in,
    free_port,
    make_env,
    run_call,
    verify_client,
)
from verify.accounts import account_sid_of
from verify.phone import mask
from verify.store import keys

ADMIN = (ADMIN_KEY, ADMIN_SECRET)
APP = (API_KEY, API_SECRET)
SECOND = (SECOND_KEY, SECOND_SECRET)
SECOND_ACCOUNT = account_sid_of(SECOND_KEY)
NIGERIA = "+2348021234567"  # outside the default geo permissions: a SafeList entry lets it through
UNKNOWN_SERVICE = "VA" + "0" * 32


def call(live, method: str, path: str, auth, values: dict) -> requests.Response:
    """`values` as the query of a GET, the form of anything else."""
    where = "params" if method == "GET" else "data"
    return requests.request(method, f"{live.url}/{path}", auth=auth, timeout=15, **{where: values or None})


def admin(live, method: str, path: str, auth=ADMIN, **values) -> requests.Response:
    return call(live, method, f"admin/{path}", auth, values)


def v2(live, method: str, path: str, auth=APP, **values) -> requests.Response:
    return call(live, method, f"v2/{path}", auth, values)


def twilio_error(response: requests.Response, status: int, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    return body


def audit_log(live, **query) -> list[dict]:
    answer = requests.get(f"{live.url}/admin/AuditLog", params=query, auth=ADMIN, timeout=15)
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


def stored_audit(redis_url: str) -> dict[str, list[str]]:
    """Every key of the audit log in Redis, with what it holds."""
    db = redis.Redis.from_url(redis_url, decode_responses=True)
    return {key: db.zrange(key, 0, -1) for key in db.scan_iter(keys.AUDIT_LOG + "*")}


def unix_time(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


@pytest.fixture
def second_sdk(live):
    """The second account's application, through the `twilio` SDK."""
    return verify_client(live.url, SECOND_KEY, SECOND_SECRET)


@pytest.fixture
def second_service(second_sdk):
    return second_sdk.verify.v2.services.create(friendly_name="Second")


# -- who may call it --------------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "Accounts"),
    ("GET", "Accounts/{account}"),
    ("GET", "Accounts/{account}/Services"),
    ("GET", "Accounts/{account}/SafeList/Numbers"),
    ("POST", "Accounts/{account}/SafeList/Numbers"),
    ("GET", "Accounts/{account}/SafeList/Numbers/{number}"),
    ("DELETE", "Accounts/{account}/SafeList/Numbers/{number}"),
    ("GET", "Services/{service}/BlockedNumbers"),
    ("POST", "Services/{service}/BlockedNumbers"),
    ("GET", "Services/{service}/BlockedNumbers/{number}"),
    ("DELETE", "Services/{service}/BlockedNumbers/{number}"),
    ("GET", "Services/{service}/Lockouts/{number}"),
    ("DELETE", "Services/{service}/Lockouts/{number}"),
    ("GET", "Services/{service}/Entities/{identity}"),
    ("DELETE", "Services/{service}/Entities/{identity}/Factors/{factor}"),
    ("DELETE", "Services/{service}/Entities/{identity}/Lockouts"),
    ("GET", "Accounts/{account}/Methods/Export"),
    ("POST", "Accounts/{account}/Methods/Import"),
    ("GET", "Eam/Keys"),
    ("POST", "Eam/Keys/Rollover"),
    ("GET", "AuditLog"),
]
IDENTITY, FACTOR = "person-0001-abcdef", "YF" + "0" * 32


def test_every_admin_route_is_in_the_refusal_cases(live):
    served = {(method, rule.rule) for rule in live.app.url_map.iter_rules() if rule.rule.startswith("/admin/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    cases = {(method, "/admin/" + path.replace("{account}", "<account_sid>").replace("{service}", "<service_sid>")
              .replace("{number}", "<number>").replace("{identity}", "<identity>").replace("{factor}", "<factor_sid>"))
             for method, path in ADMIN_ROUTES}
    assert served == cases


@pytest.mark.parametrize("credentials", [APP, SECOND, None], ids=["application", "second-application", "none"])
@pytest.mark.parametrize("method, path", ADMIN_ROUTES, ids=[f"{m} {p}" for m, p in ADMIN_ROUTES])
def test_only_admin_credentials_reach_admin(live, service, redis_url, method, path, credentials):
    url = path.format(account=APP_ACCOUNT_SID, service=service.sid, number=MOBILE, identity=IDENTITY, factor=FACTOR)
    answer = admin(live, method, url, auth=credentials, **({"PhoneNumber": MOBILE} if method == "POST" else {}))
    twilio_error(answer, 401, 20003)
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    assert stored_audit(redis_url) == {}  # refused before anything was done, or written down
    assert v2(live, "GET", f"Services/{service.sid}/BlockedNumbers").json()["blocked_numbers"] == []
    assert v2(live, "GET", f"SafeList/Numbers/{MOBILE}").status_code == 404


@pytest.mark.parametrize("method, path", [("GET", "Services"), ("POST", "Services"), ("GET", "Services/{service}"),
                                          ("GET", "Services/{service}/BlockedNumbers"),
                                          ("GET", "SafeList/Numbers/{number}")])
def test_admin_credentials_are_refused_on_v2(live, service, method, path):
    answer = v2(live, method, path.format(service=service.sid, number=MOBILE), auth=ADMIN,
                **({"FriendlyName": "Admin's"} if method == "POST" else {}))
    twilio_error(answer, 401, 20003)
    assert [s["sid"] for s in v2(live, "GET", "Services").json()["services"]] == [service.sid]


# -- lockouts -----------------------------------------------------------------------------------------

def test_a_help_desk_clears_a_lockout_that_a_pound_call_gets_through(live, sdk, service, standin, redis_url):
    verify = sdk.verify.v2.services(service.sid)
    lockout_path = f"Services/{service.sid}/Lockouts/%2B{MOBILE[1:]}"
    for count in (1, 2):  # two verifications, five wrong codes each: the default ten failures
        verify.verifications.create(to=MOBILE, channel="sms")
        code = code_in(standin.wait_for_message(MOBILE, count=count))
        for _ in range(5):
            verify.verification_checks.create(to=MOBILE, code=wrong(code))
        if count == 1:
            counted = admin(live, "GET", lockout_path).json()
            assert (counted["failed_checks"], counted["locked_until"]) == (5, None)
    locked_at = time.time()
    assert "locked" in refused(lambda: verify.verifications.create(to=MOBILE, channel="sms"), 429, 60202)

    # A # pressed on the person's own phone cannot be guessed: the lockout lets it through.
    standin.set_callee(MOBILE, answer="human", keys=["#"])
    approved = verify.verifications.create(to=MOBILE, channel="call_approve")
    assert run_call(standin, MOBILE)["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."
    assert verify.verifications(approved.sid).fetch().status == "approved"

    shown = admin(live, "GET", lockout_path)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert {k: body[k] for k in ("account_sid", "service_sid", "phone_number", "failed_checks")} == {
        "account_sid": APP_ACCOUNT_SID, "service_sid": service.sid, "phone_number": MOBILE, "failed_checks": 0}
    assert body["url"] == f"{live.url}/admin/{lockout_path}"
    # The first lockout lasts 15 minutes from the tenth wrong code.
    assert locked_at - 60 <= unix_time(body["locked_until"]) - 900 <= time.time()

    assert admin(live, "DELETE", lockout_path).status_code == 204
    cleared = admin(live, "GET", lockout_path).json()
    assert (cleared["locked_until"], cleared["failed_checks"]) == (None, 0)
    assert verify.verifications.create(to=MOBILE, channel="sms").status == "pending"

    entries = audit_log(live)
    assert [(e["action"], e["status_code"]) for e in entries] == [
        ("lockout.fetch", 200), ("lockout.clear", 204), ("lockout.fetch", 200), ("lockout.fetch", 200)]
    clear = entries[1]
    assert clear["admin_id"] == ADMIN_KEY and clear["sid"].startswith("AE") and len(clear["sid"]) == 34
    assert (clear["account_sid"], clear["service_sid"], clear["phone_number"]) == (
        APP_ACCOUNT_SID, service.sid, mask(MOBILE))
    stored = json.dumps(stored_audit(redis_url))
    assert mask(MOBILE) in stored and MOBILE[1:] not in stored and MOBILE[-8:] not in stored


def test_a_number_never_locked_and_what_is_refused(live, service):
    path = f"Services/{service.sid}/Lockouts/{LANDLINE}"
    never = admin(live, "GET", path)
    assert never.status_code == 200, never.text
    assert (never.json()["locked_until"], never.json()["failed_checks"]) == (None, 0)
    assert admin(live, "DELETE", path).status_code == 204  # nothing to clear: the number is as wanted
    twilio_error(admin(live, "DELETE", f"Services/{UNKNOWN_SERVICE}/Lockouts/{LANDLINE}"), 404, 20404)
    twilio_error(admin(live, "GET", f"Services/not-a-sid/Lockouts/{LANDLINE}"), 404, 20404)
    assert "PhoneNumber" in twilio_error(admin(live, "GET", f"Services/{service.sid}/Lockouts/12"), 400,
                                         60200)["message"]


# -- blocks and SafeLists of any account --------------------------------------------------------------

def test_blocks_on_another_accounts_service(live, sdk, service, second_sdk, second_service):
    path = f"Services/{second_service.sid}/BlockedNumbers"
    added = admin(live, "POST", path, PhoneNumber=MOBILE, Days="30")
    assert added.status_code == 201, added.text
    assert added.json()["url"] == f"{live.url}/admin/{path}/%2B{MOBILE[1:]}"
    assert added.json()["phone_number"] == MOBILE and added.json()["service_sid"] == second_service.sid

    # The second account sees the block on /v2, and its service no longer texts the number.
    own = v2(live, "GET", path, auth=SECOND).json()["blocked_numbers"]
    assert [(b["phone_number"], b["date_blocked_until"]) for b in own] == [(MOBILE, added.json()["date_blocked_until"])]
    assert "30 more days" in refused(
        lambda: second_sdk.verify.v2.services(second_service.sid).verifications.create(to=MOBILE, channel="sms"),
        403, 60605)
    # The first account cannot see it, and its own service still texts the number.
    twilio_error(v2(live, "GET", path), 404, 20404)
    assert sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms").status == "pending"

    listed = admin(live, "GET", path).json()
    assert [b["phone_number"] for b in listed["blocked_numbers"]] == [MOBILE]
    assert listed["meta"]["url"].startswith(f"{live.url}/admin/{path}?")
    assert admin(live, "GET", f"{path}/%2B{MOBILE[1:]}").json() == added.json()
    assert admin(live, "DELETE", f"{path}/{MOBILE}").status_code == 204
    twilio_error(admin(live, "DELETE", f"{path}/{MOBILE}"), 404, 20404)
    assert v2(live, "GET", path, auth=SECOND).json()["blocked_numbers"] == []
    twilio_error(admin(live, "POST", f"Services/{UNKNOWN_SERVICE}/BlockedNumbers", PhoneNumber=MOBILE), 404, 20404)

    actions = [(e["action"], e["status_code"], e["account_sid"]) for e in audit_log(live)]
    assert actions == [("block.add", 404, None)] + [(action, status, SECOND_ACCOUNT) for action, status in (
        ("block.remove", 404), ("block.remove", 204), ("block.fetch", 200), ("block.list", 200), ("block.add", 201))]


def test_the_safe_list_of_another_account(live, sdk, service, second_sdk, second_service):
    path = f"Accounts/{SECOND_ACCOUNT}/SafeList/Numbers"
    added = admin(live, "POST", path, PhoneNumber=NIGERIA)
    assert added.status_code == 201, added.text
    entry = added.json()
    assert entry["sid"].startswith("GN") and entry["phone_number"] == NIGERIA
    assert (entry["account_sid"], entry["url"]) == (SECOND_ACCOUNT, f"{live.url}/admin/{path}/{NIGERIA}")
    twilio_error(admin(live, "POST", path, PhoneNumber=NIGERIA), 400, 60411)

    # The second account's /v2 sees its entry, which lets its texts through the geo permissions.
    assert second_sdk.verify.v2.safelist(NIGERIA).fetch().sid == entry["sid"]
    assert second_sdk.verify.v2.services(second_service.sid).verifications.create(
        to=NIGERIA, channel="sms").status == "pending"
    # The first account's SafeList does not hold it.
    refused(sdk.verify.v2.safelist(NIGERIA).fetch, 404, 20404)
    refused(lambda: sdk.verify.v2.services(service.sid).verifications.create(to=NIGERIA, channel="sms"), 403, 60605)

    second_sdk.verify.v2.safelist.create(phone_number=MOBILE)  # the account's own entry, listed too
    listed = admin(live, "GET", path, PageSize="1")
    page = listed.json()
    assert [e["phone_number"] for e in page["safe_list"]] == [NIGERIA]  # by number: +234 before +44
    following = requests.get(page["meta"]["next_page_url"], auth=ADMIN, timeout=15).json()
    assert [e["phone_number"] for e in following["safe_list"]] == [MOBILE]
    assert following["meta"]["next_page_url"] is None
    assert admin(live, "GET", f"Accounts/{APP_ACCOUNT_SID}/SafeList/Numbers").json()["safe_list"] == []
    assert admin(live, "GET", f"{path}/%2B{NIGERIA[1:]}").json() == entry

    assert admin(live, "DELETE", f"{path}/{NIGERIA}").status_code == 204
    refused(second_sdk.verify.v2.safelist(NIGERIA).fetch, 404, 20404)
    twilio_error(admin(live, "GET", f"{path}/{NIGERIA}"), 404, 20404)
    twilio_error(admin(live, "GET", "Accounts/AC123/SafeList/Numbers"), 404, 20404)


# -- accounts and their services ----------------------------------------------------------------------

def test_accounts_and_their_services(live, sdk, service, second_service):
    answer = admin(live, "GET", "Accounts")
    assert answer.status_code == 200
    assert API_SECRET not in answer.text and SECOND_SECRET not in answer.text
    accounts = answer.json()["accounts"]
    assert [(a["sid"], a["credential_ids"]) for a in accounts] == [(APP_ACCOUNT_SID, [API_KEY, KEY_SID]),
                                                                   (SECOND_ACCOUNT, [SECOND_KEY])]
    assert accounts[1]["links"] == {"services": f"{live.url}/admin/Accounts/{SECOND_ACCOUNT}/Services",
                                    "safe_list": f"{live.url}/admin/Accounts/{SECOND_ACCOUNT}/SafeList/Numbers"}
    assert requests.get(accounts[1]["url"], auth=ADMIN, timeout=15).json() == accounts[1]
    twilio_error(admin(live, "GET", f"Accounts/AC{'9' * 32}"), 404, 20404)  # no credential of it

    third = sdk.verify.v2.services.create(friendly_name="Third")
    first_page = admin(live, "GET", f"Accounts/{APP_ACCOUNT_SID}/Services", PageSize="1")
    assert first_page.status_code == 200
    assert [s["sid"] for s in first_page.json()["services"]] == [service.sid]
    following = requests.get(first_page.json()["meta"]["next_page_url"], auth=ADMIN, timeout=15).json()
    assert [(s["sid"], s["account_sid"]) for s in following["services"]] == [(third.sid, APP_ACCOUNT_SID)]
    second = admin(live, "GET", f"Accounts/{SECOND_ACCOUNT}/Services").json()["services"]
    assert [(s["sid"], s["friendly_name"], s["account_sid"]) for s in second] == [
        (second_service.sid, "Second", SECOND_ACCOUNT)]
    # Data may outlive its credentials: any well-formed account sid is listed, a malformed one is not.
    assert admin(live, "GET", f"Accounts/AC{'9' * 32}/Services").json()["services"] == []
    twilio_error(admin(live, "GET", "Accounts/ACnothex/Services"), 404, 20404)


# -- the audit log ------------------------------------------------------------------------------------

def test_the_audit_log_newest_first_filtered_and_paged(live, service, second_service, redis_url):
    first_blocks = f"Services/{service.sid}/BlockedNumbers"
    second_blocks = f"Services/{second_service.sid}/BlockedNumbers"
    done = [("accounts.list", "GET", "Accounts", {}),
            ("block.add", "POST", first_blocks, {"PhoneNumber": MOBILE}),
            ("block.add", "POST", second_blocks, {"PhoneNumber": MOBILE}),
            ("block.add", "POST", second_blocks, {"PhoneNumber": LANDLINE}),
            ("safe_list.add", "POST", f"Accounts/{SECOND_ACCOUNT}/SafeList/Numbers", {"PhoneNumber": MOBILE}),
            ("lockout.clear", "DELETE", f"Services/{second_service.sid}/Lockouts/{LANDLINE}", {}),
            ("services.list", "GET", f"Accounts/{SECOND_ACCOUNT}/Services", {})]
    for _, method, path, form in done:
        assert admin(live, method, path, **form).status_code < 300
    admin(live, "GET", f"Accounts/{SECOND_ACCOUNT}/SafeList/Numbers", auth=APP)  # refused: not written

    entries = audit_log(live)
    assert [e["action"] for e in entries] == [action for action, *_ in reversed(done)]
    assert [e["date_created"] for e in entries] == sorted((e["date_created"] for e in entries), reverse=True)
    assert entries[-1] == {"sid": entries[-1]["sid"], "date_created": entries[-1]["date_created"],
                           "admin_id": ADMIN_KEY, "action": "accounts.list", "status_code": 200, "account_sid": None,
                           "service_sid": None, "phone_number": None, "identity": None}
    assert len(audit_log(live)) == len(done)  # reading the log is not written to it

    def actions(**query) -> list[tuple]:
        return [(e["action"], e["service_sid"], e["phone_number"]) for e in audit_log(live, **query)]

    masked_mobile, masked_landline = mask(MOBILE), mask(LANDLINE)
    assert actions(AccountSid=SECOND_ACCOUNT) == [
        ("services.list", None, None), ("lockout.clear", second_service.sid, masked_landline),
        ("safe_list.add", None, masked_mobile), ("block.add", second_service.sid, masked_landline),
        ("block.add", second_service.sid, masked_mobile)]
    assert actions(ServiceSid=second_service.sid) == [
        ("lockout.clear", second_service.sid, masked_landline), ("block.add", second_service.sid, masked_landline),
        ("block.add", second_service.sid, masked_mobile)]
    assert actions(PhoneNumber=MOBILE) == [("safe_list.add", None, masked_mobile),
                                           ("block.add", second_service.sid, masked_mobile),
                                           ("block.add", service.sid, masked_mobile)]
    assert actions(PhoneNumber="+44 7400 123456", ServiceSid=service.sid) == [("block.add", service.sid,
                                                                                masked_mobile)]
    assert actions(PhoneNumber=MOBILE, AccountSid=SECOND_ACCOUNT) == [
        ("safe_list.add", None, masked_mobile), ("block.add", second_service.sid, masked_mobile)]
    assert actions(AccountSid=f"AC{'9' * 32}") == []

    # Pages keep their filters: the number's entries, one a page, in order.
    query = {"PhoneNumber": MOBILE, "PageSize": 1}
    seen, url = [], f"{live.url}/admin/AuditLog"
    while url:
        page = requests.get(url, params=query, auth=ADMIN, timeout=15).json()
        seen += [(e["action"], e["service_sid"]) for e in page["entries"]]
        url, query = page["meta"]["next_page_url"], None
    assert seen == [("safe_list.add", None), ("block.add", second_service.sid), ("block.add", service.sid)]
    second_page = requests.get(f"{live.url}/admin/AuditLog", params={"PhoneNumber": MOBILE, "PageSize": 2, "Page": 1,
                                                                     "PageToken": "PT2"}, auth=ADMIN, timeout=15)
    assert [e["service_sid"] for e in second_page.json()["entries"]] == [service.sid]

    stored = json.dumps(stored_audit(redis_url))
    assert MOBILE[1:] not in stored and LANDLINE[1:] not in stored


def test_failed_admin_requests_are_written_too(live, service):
    twilio_error(admin(live, "GET", f"Services/{UNKNOWN_SERVICE}/BlockedNumbers"), 404, 20404)
    twilio_error(admin(live, "DELETE", f"Accounts/{APP_ACCOUNT_SID}/SafeList/Numbers/{MOBILE}"), 404, 20404)
    twilio_error(admin(live, "POST", f"Services/{service.sid}/BlockedNumbers", PhoneNumber="12"), 400, 60200)
    entries = audit_log(live)
    assert [(e["action"], e["status_code"], e["account_sid"], e["service_sid"], e["phone_number"])
            for e in entries] == [("block.add", 400, APP_ACCOUNT_SID, service.sid, None),
                                  ("safe_list.remove", 404, APP_ACCOUNT_SID, None, mask(MOBILE)),
                                  ("block.list", 404, None, UNKNOWN_SERVICE, None)]


@pytest.mark.parametrize("query, word", [({"AccountSid": "AC1"}, "AccountSid"), ({"ServiceSid": "VA1"}, "ServiceSid"),
                                         ({"PhoneNumber": "12"}, "PhoneNumber"), ({"PageSize": "0"}, "PageSize")])
def test_the_audit_logs_filters_must_be_well_formed(live, query, word):
    answer = requests.get(f"{live.url}/admin/AuditLog", params=query, auth=ADMIN, timeout=15)
    assert word in twilio_error(answer, 400, 60200)["message"]


def test_entries_past_the_retention_are_neither_answered_nor_kept(redis_url, standin):
    client = create_app(make_env(redis_url, standin.base_url, "http://localhost", AUDIT_RETENTION_DAYS="30")
                        ).test_client()

    def listed() -> list[str]:
        answer = client.get("/admin/AuditLog", auth=ADMIN)
        assert answer.status_code == 200
        return [entry["action"] for entry in answer.get_json()["entries"]]

    with freeze_time("2026-11-24 10:00:00") as clock:
        assert client.get(f"/admin/Services/{UNKNOWN_SERVICE}/Lockouts/{MOBILE}", auth=ADMIN).status_code == 404
        clock.tick(10 * 86400)
        assert client.get("/admin/Accounts", auth=ADMIN).status_code == 200
        clock.tick(20 * 86400)  # the first entry is 30 days old: the last second it is kept
        assert listed() == ["accounts.list", "lockout.fetch"]
        clock.tick(1)
        assert listed() == ["accounts.list"]
        assert [e["action"] for e in client.get(f"/admin/AuditLog?ServiceSid={UNKNOWN_SERVICE}", auth=ADMIN)
                .get_json()["entries"]] == []
        everything = stored_audit(redis_url)
        assert any("lockout.fetch" in member for members in everything.values() for member in members)
        # The next write drops it from every set it was written to: the log, the service's, the number's.
        assert client.get(f"/admin/Services/{UNKNOWN_SERVICE}/Lockouts/{LANDLINE}", auth=ADMIN).status_code == 404
        everything = stored_audit(redis_url)
        assert len(everything) == 3 and not any(
            f'"number":"{mask(MOBILE)}"' in member for members in everything.values() for member in members)
        assert listed() == ["lockout.fetch", "accounts.list"]


def test_an_entry_redis_cannot_store_is_logged_and_the_answer_stands(standin, caplog):
    """Redis is unreachable: a request that needs no Redis answers as ever, one that does answers
    its 503; each entry is logged at ERROR instead, its number masked."""
    client = create_app(make_env(f"redis://127.0.0.1:{free_port()}/0", standin.base_url, "http://localhost")
                        ).test_client()
    caplog.set_level(logging.ERROR, logger="telverify.audit")
    answer = client.get("/admin/Accounts", auth=ADMIN)
    assert answer.status_code == 200 and [a["sid"] for a in answer.get_json()["accounts"]][0] == APP_ACCOUNT_SID
    refused_read = client.get(f"/admin/Accounts/{APP_ACCOUNT_SID}/SafeList/Numbers/{MOBILE}", auth=ADMIN)
    assert (refused_read.status_code, refused_read.get_json()["code"]) == (503, 20503)
    lines = [record.getMessage() for record in caplog.records if record.name == "telverify.audit"]
    assert len(lines) == 2 and all(record.levelno == logging.ERROR for record in caplog.records
                                   if record.name == "telverify.audit")
    assert "audit entry not stored" in lines[0] and '"action": "accounts.list"' in lines[0]
    assert '"status": 200' in lines[0] and f'"admin_id": "{ADMIN_KEY}"' in lines[0]
    assert '"action": "safe_list.fetch"' in lines[1] and '"status": 503' in lines[1]
    assert mask(MOBILE) in lines[1] and MOBILE[1:] not in caplog.text
