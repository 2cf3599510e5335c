"""telverify on a Redis Cluster of three masters (tests/cluster.py), served over real HTTP and
driven through the official `twilio` SDK: the flows of every Lua script, the `limits` counters,
the services index, the block list and the SafeList, with the data spread over the nodes.

The cluster admits one user with a password (its default user is off), so the store and the
`limits` counters both reach it with REDIS_URL's credentials. In this file `live` is telverify
on the cluster, and so are conftest's `sdk` and `service`, which use it."""
from __future__ import annotations

import json
import re
import signal
import threading
import time

import pyotp
import pytest
import requests
from redis.exceptions import ResponseError

from tests.api_asserts import list_refused, refused
from tests.cluster import MASTERS, LocalCluster
from tests.support import (
    ADMIN_KEY,
    ADMIN_SECRET,
    API_KEY,
    API_SECRET,
    APP_ACCOUNT_SID,
    LANDLINE,
    MOBILE,
    SECRET_KEY,
    LiveServer,
    code_in,
    make_env,
    run_call,
    stored_checks,
)
from verify.core import Core
from verify.sids import NumberTags
from verify.store import keys
from verify.store.connection import connect
from verify.store.eam import EamStore
from verify.store.methods import MethodStore

TAGS = NumberTags(SECRET_KEY)  # the numbers' tags as the app under test makes them

AUTH = (API_KEY, API_SECRET)
ADMIN = (ADMIN_KEY, ADMIN_SECRET)
CANDIDATES = [f"+4474001{index:05d}" for index in range(300)]  # UK mobiles, one prefix (+44740)
NIGERIA = "+2348021234567"  # outside the default geo permissions


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster("telverify", "p@ss:w/rd") as started:
        yield started


@pytest.fixture(scope="module")
def live(cluster, standin):
    with LiveServer(lambda url: make_env(cluster.url, standin.base_url, url)) as server:
        yield server


@pytest.fixture(autouse=True)
def empty_cluster(cluster):
    cluster.flush()


def spread(cluster, service_sid: str) -> list[str]:
    """A number per node, in node order, whose keys in this service that node holds."""
    by_node: dict[int, str] = {}
    for number in CANDIDATES:
        by_node.setdefault(cluster.node_of(keys.number(service_sid, TAGS(number))), number)
        if len(by_node) == MASTERS:
            return [by_node[node] for node in range(MASTERS)]
    raise AssertionError("no number for every node")


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def verifications(sdk, service):
    return sdk.verify.v2.services(service.sid).verifications


def checks(sdk, service):
    return sdk.verify.v2.services(service.sid).verification_checks


def api(live, method: str, path: str, **form) -> requests.Response:
    return requests.request(method, f"{live.url}/v2/{path}", data=form or None, auth=AUTH, timeout=15)


def poll(live, service, verification) -> dict:
    return api(live, "GET", f"Services/{service.sid}/Verifications/{verification.sid}").json()


# -- the cluster itself ---------------------------------------------------------------------------

def test_readiness_pings_the_cluster(live):
    answer = requests.get(f"{live.url}/healthz/ready", timeout=15)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_the_cluster_refuses_a_script_reaching_another_slot(cluster):
    """What keeps the scripts honest in these tests: with `#!lua`, as ours start, Redis refuses
    a key outside the slot of the script's KEYS even when the same node holds both slots."""
    client = connect(cluster.url)
    key = "{tag}:x"
    neighbour = next(other for other in (f"{{tag{n}}}:x" for n in range(9999))
                     if cluster.node_of(other) == cluster.node_of(key) and client.keyslot(other) != client.keyslot(key))
    script = "#!lua\nreturn redis.call('EXISTS', ARGV[1])"
    assert client.eval(script, 1, key, "{tag}:y") == 0  # the same slot: allowed
    with pytest.raises(ResponseError, match="do not hash to the same slot"):
        client.eval(script, 1, key, neighbour)


# -- services -------------------------------------------------------------------------------------

def test_services_are_created_updated_listed_and_deleted(sdk, cluster):
    sids = []
    while len(sids) < 4 or len({cluster.node_of(keys.service(sid)) for sid in sids}) < MASTERS:  # on every node
        sids.append(sdk.verify.v2.services.create(friendly_name=f"Service {len(sids)}").sid)
        assert len(sids) < 40
    renamed = sdk.verify.v2.services(sids[1]).update(friendly_name="Renamed", code_length=4)  # update_service.lua
    assert (renamed.friendly_name, renamed.code_length) == ("Renamed", 4)
    assert sdk.verify.v2.services(sids[1]).fetch().friendly_name == "Renamed"

    listed = sdk.verify.v2.services.list(page_size=2)
    assert [s.sid for s in listed] == sids
    assert [s.friendly_name for s in listed][:2] == ["Service 0", "Renamed"]

    for sid in (sids[0], sids[-1]):
        assert sdk.verify.v2.services(sid).delete() is True
        refused(sdk.verify.v2.services(sid).fetch, 404, 20404)
        refused(sdk.verify.v2.services(sid).delete, 404, 20404)
    assert [s.sid for s in sdk.verify.v2.services.list()] == sids[1:-1]
    held = cluster.keys("tv:service:*")
    assert sorted(sum(held, [])) == sorted(keys.service(sid) for sid in sids[1:-1])
    assert cluster.client().zrange(keys.account_services(APP_ACCOUNT_SID), 0, -1) == sids[1:-1]


def test_a_list_skips_an_index_entry_whose_service_is_gone(sdk, cluster):
    """On a cluster a delete takes the index entry, then the hash: a list between the two reads
    an entry whose hash is gone, and leaves it out."""
    kept, gone = (sdk.verify.v2.services.create(friendly_name=name).sid for name in ("Kept", "Gone"))
    cluster.client().delete(keys.service(gone))
    assert [s.sid for s in sdk.verify.v2.services.list()] == [kept]


# -- verifications by SMS -------------------------------------------------------------------------

def test_sms_verifications_on_every_node(sdk, service, standin, cluster):
    """Create, resend (the same code), a wrong code, then the right one, by To and by
    VerificationSid, for a number on each node (create_or_resend.lua, check.lua)."""
    numbers = spread(cluster, service.sid)
    for index, number in enumerate(numbers):
        first = verifications(sdk, service).create(to=number, channel="sms")
        again = verifications(sdk, service).create(to=number, channel="sms")
        assert (again.sid, again.status, len(again.send_code_attempts)) == (first.sid, "pending", 2)
        code = code_in(standin.wait_for_message(number))
        assert code_in(standin.wait_for_message(number, count=2)) == code
        miss = checks(sdk, service).create(to=number, code=wrong(code))
        assert (miss.status, miss.valid) == ("pending", False)
        right = (checks(sdk, service).create(to=number, code=code) if index % 2 else
                 checks(sdk, service).create(verification_sid=first.sid, code=code))
        assert (right.status, right.valid, right.sid) == ("approved", True, first.sid)
        assert verifications(sdk, service)(first.sid).fetch().status == "approved"

    held = cluster.keys(f"*{service.sid}*")
    assert all(held), held  # every node holds keys of this service
    client = cluster.client()
    for number in numbers:
        tag = f"{{{service.sid}:{TAGS(number)}}}"
        mine = [key for node in held for key in node if tag in key]
        assert {client.keyslot(key) for key in mine} == {client.keyslot(keys.number(service.sid, TAGS(number)))}
        # The number's state and its approved verification's record, in one key: the working hash
        # (the code) ended with the verification.
        assert mine == [keys.number(service.sid, TAGS(number))]


def test_the_statuses_of_verifications_on_every_node_in_one_round_trip(live, sdk, service, cluster):
    """What counts expiries (verify/expiries.py) reads: verifications in every node's slots,
    through one cluster pipeline."""
    started = [verifications(sdk, service).create(to=number, channel="sms") for number in spread(cluster, service.sid)]
    verifications(sdk, service)(started[0].sid).update(status="canceled")
    store = Core.of(live.app).verifications.store
    asked = [(service.sid, verification.sid) for verification in started] + [(service.sid, "VE" + "0" * 32)]
    now = time.time()
    assert [state and state[:2] for state in store.statuses(asked, now)] == \
        [("canceled", "sms"), ("pending", "sms"), ("pending", "sms"), None]
    assert [state and state[0] for state in store.statuses(asked, now + 601)] == \
        ["canceled", "expired", "expired", None]


def test_max_attempts_then_the_numbers_lockout_across_verifications(sdk, service, standin):
    for count in (1, 2):
        verifications(sdk, service).create(to=MOBILE, channel="sms")
        code = code_in(standin.wait_for_message(MOBILE, count=count))
        statuses = [checks(sdk, service).create(to=MOBILE, code=wrong(code)).status for _ in range(5)]
        assert statuses == ["pending"] * 4 + ["max_attempts_reached"]
    # Ten failures across two verifications lock the number out.
    message = refused(lambda: verifications(sdk, service).create(to=MOBILE, channel="sms"), 429, 60202)
    assert "locked" in message


def test_cancel_and_approve_through_an_update(sdk, service, standin, cluster):
    canceled_number, approved_number = spread(cluster, service.sid)[:2]
    canceled = verifications(sdk, service).create(to=canceled_number, channel="sms")
    code = code_in(standin.wait_for_message(canceled_number))
    assert verifications(sdk, service)(canceled.sid).update(status="canceled").status == "canceled"
    assert "canceled" in refused(lambda: checks(sdk, service).create(to=canceled_number, code=code), 404, 20404)

    pending = verifications(sdk, service).create(to=approved_number, channel="sms")
    approved = verifications(sdk, service)(pending.sid).update(status="approved")
    assert (approved.status, approved.valid) == ("approved", True)
    refused(lambda: verifications(sdk, service)(pending.sid).update(status="canceled"), 404, 20404)


def test_delivery_reports_and_sends_twilio_refused(sdk, service, standin, cluster):
    """mark_delivery.lua from the stand-in's status callbacks; release_send.lua when Twilio
    refuses a send for good (nothing is left) or fails for a moment (the send is given back)."""
    delivered, undelivered, refused_number = spread(cluster, service.sid)
    verification = verifications(sdk, service).create(to=delivered, channel="sms")
    standin.wait_for_callbacks(standin.wait_for_message(delivered)["sid"], 2)
    assert verifications(sdk, service)(verification.sid).fetch().send_code_attempts[0]["delivery_status"] == \
        "delivered"

    standin.add_fault(to=undelivered, delivery="undelivered", error_code=30003)
    verification = verifications(sdk, service).create(to=undelivered, channel="sms")
    standin.wait_for_callbacks(standin.wait_for_message(undelivered)["sid"], 2)
    attempt = verifications(sdk, service)(verification.sid).fetch().send_code_attempts[0]
    assert (attempt["delivery_status"], attempt["error_code"]) == ("undelivered", "30003")

    standin.add_fault(to=refused_number, http_status=400, code=21211, message="refused")
    refused(lambda: verifications(sdk, service).create(to=refused_number, channel="sms"), 400, 60200)
    refused(lambda: checks(sdk, service).create(to=refused_number, code="123456"), 404, 20404)
    standin.clear_faults()
    standin.add_fault(to=refused_number, http_status=503, code=20503, times=1)
    refused(lambda: verifications(sdk, service).create(to=refused_number, channel="sms"), 503, 20503)
    retried = verifications(sdk, service).create(to=refused_number, channel="sms")
    assert (retried.status, len(retried.send_code_attempts)) == ("pending", 1)


# -- calls ----------------------------------------------------------------------------------------

def test_a_code_call_and_an_approve_call(live, sdk, service, standin):
    """call_event.lua on every webhook of both calls; decide_by_call.lua when # approves."""
    standin.set_callee(LANDLINE, answer="human", keys=[])
    code_call = verifications(sdk, service).create(to=LANDLINE, channel="call")
    said = run_call(standin, LANDLINE)["said"]
    code = next(text for text in said if re.fullmatch(r"(?:\d\. )+\d\.", text)).replace(". ", "").rstrip(".")
    assert poll(live, service, code_call)["call_outcome"] == "code_read"
    assert checks(sdk, service).create(to=LANDLINE, code=code).status == "approved"

    standin.set_callee(MOBILE, answer="human", keys=["#"])
    approve_call = verifications(sdk, service).create(to=MOBILE, channel="call_approve")
    call = run_call(standin, MOBILE)
    assert call["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."
    body = poll(live, service, approve_call)
    assert (body["status"], body["call_outcome"]) == ("approved", "approved")
    assert body["send_code_attempts"][0]["delivery_status"] == "completed"


def test_a_fraud_report_blocks_the_number(live, sdk, service, standin, cluster):
    standin.set_callee(MOBILE, answer="human", keys=["0", "#"])
    verification = verifications(sdk, service).create(to=MOBILE, channel="call_approve")
    assert "reported as fraud" in run_call(standin, MOBILE)["said"][-1]
    body = poll(live, service, verification)
    assert (body["status"], body["fraud_reported"]) == ("failed", True)
    refused(lambda: verifications(sdk, service).create(to=MOBILE, channel="sms"), 403, 60605)
    listed = api(live, "GET", f"Services/{service.sid}/BlockedNumbers").json()["blocked_numbers"]
    assert [entry["phone_number"] for entry in listed] == [MOBILE]
    client = cluster.client()
    assert client.ttl(keys.blocked(service.sid, TAGS(MOBILE), MOBILE)) > 89 * 86400  # the block, in the number's slot
    assert client.zscore(keys.blocked_index(service.sid), MOBILE) > time.time()  # its entry, in the service's


# -- limits ---------------------------------------------------------------------------------------

def test_built_in_limits_count_on_the_cluster(live, sdk, standin, cluster):
    """The number's own limits (create_or_resend.lua) and the `limits` library's moving windows
    (a surge to one prefix), both on the cluster."""
    created = api(live, "POST", "Services", FriendlyName="Acme",
                  LimitSendsPerNumber="2 per 10 minutes; 30 per day", LimitSendsPerPrefix="4 per hour")
    service = sdk.verify.v2.services(created.json()["sid"]).fetch()
    numbers = spread(cluster, service.sid)
    for _ in range(2):
        verifications(sdk, service).create(to=numbers[0], channel="sms")
    assert "2 codes sent to this number" in refused(
        lambda: verifications(sdk, service).create(to=numbers[0], channel="sms"), 429, 60203)
    verifications(sdk, service).create(to=numbers[1], channel="sms")
    verifications(sdk, service).create(to=numbers[2], channel="sms")  # the prefix's fourth send
    assert "SMS pumping" in refused(lambda: verifications(sdk, service).create(to=CANDIDATES[-1], channel="sms"),
                                    429, 60410)
    assert standin.requests(CANDIDATES[-1]) == []
    assert any(key.startswith(keys.LIMITS_NAMESPACE) for node in cluster.keys() for key in node)


def test_rate_limits_and_their_buckets(sdk, service, standin, cluster):
    """Every ratelimit_*.lua: create, list, update, buckets created, updated, listed, enforced
    (a verification a bucket refuses), deleted; the service's delete takes the rest."""
    limits = sdk.verify.v2.services(service.sid).rate_limits
    by_ip = limits.create(unique_name="end_user_ip", description="By address")
    by_user = limits.create(unique_name="user_id")
    refused(lambda: limits.create(unique_name="end_user_ip"), 400, 60208)
    assert [r.sid for r in limits.list()] == [by_ip.sid, by_user.sid]
    assert limits(by_user.sid).update(description="By user").description == "By user"

    buckets = limits(by_ip.sid).buckets
    minute = buckets.create(max=1, interval=60)
    hour = buckets.create(max=10, interval=3600)
    refused(lambda: buckets.create(max=2, interval=60), 400, 60211)
    assert buckets(hour.sid).update(max=5).max == 5
    assert [(b.sid, b.max, b.interval) for b in buckets.list()] == [(minute.sid, 1, 60), (hour.sid, 5, 3600)]

    first, second = spread(cluster, service.sid)[:2]
    ip = {"end_user_ip": "203.0.113.7"}
    assert verifications(sdk, service).create(to=first, channel="sms", rate_limits=ip).status == "pending"
    refused(lambda: verifications(sdk, service).create(to=second, channel="sms", rate_limits=ip), 429, 20429)
    assert standin.requests(second) == []
    assert buckets(minute.sid).delete() is True
    refused(buckets(minute.sid).fetch, 404, 20404)
    assert verifications(sdk, service).create(to=second, channel="sms", rate_limits=ip).status == "pending"

    assert limits(by_ip.sid).delete() is True
    refused(limits(by_ip.sid).fetch, 404, 20404)
    list_refused(buckets.list)
    refused(lambda: verifications(sdk, service).create(to=first, channel="sms", rate_limits=ip), 400, 60200)
    sdk.verify.v2.services(service.sid).delete()
    assert not any(f"{{{service.sid}}}" in key for node in cluster.keys() for key in node
                   if not key.startswith(keys.LIMITS_NAMESPACE))


# -- the block list and the SafeList --------------------------------------------------------------

def test_the_block_list(live, sdk, service, standin, cluster):
    numbers = spread(cluster, service.sid)
    for number in numbers:
        added = api(live, "POST", f"Services/{service.sid}/BlockedNumbers", PhoneNumber=number, Days="30")
        assert (added.status_code, added.json()["phone_number"]) == (201, number)
    assert "30 more days" in refused(lambda: verifications(sdk, service).create(to=numbers[0], channel="sms"),
                                     403, 60605)
    listed = api(live, "GET", f"Services/{service.sid}/BlockedNumbers").json()["blocked_numbers"]
    assert sorted(entry["phone_number"] for entry in listed) == sorted(numbers)
    path = f"Services/{service.sid}/BlockedNumbers/%2B{numbers[0][1:]}"
    assert api(live, "GET", path).status_code == 200
    assert api(live, "DELETE", path).status_code == 204
    assert api(live, "DELETE", path).status_code == 404
    assert verifications(sdk, service).create(to=numbers[0], channel="sms").status == "pending"
    assert len(api(live, "GET", f"Services/{service.sid}/BlockedNumbers").json()["blocked_numbers"]) == 2

    sdk.verify.v2.services(service.sid).delete()  # takes the blocks left, on their nodes
    assert not any(":blocked" in key for node in cluster.keys(f"*{service.sid}*") for key in node)


def test_the_safe_list_lets_a_number_through_the_geo_permissions(sdk, service, standin):
    refused(lambda: verifications(sdk, service).create(to=NIGERIA, channel="sms"), 403, 60605)
    entry = sdk.verify.v2.safelist.create(phone_number=NIGERIA)
    assert entry.sid.startswith("GN") and entry.phone_number == NIGERIA
    assert sdk.verify.v2.safelist(NIGERIA).fetch().sid == entry.sid
    refused(lambda: sdk.verify.v2.safelist.create(phone_number=NIGERIA), 400, 60411)
    assert verifications(sdk, service).create(to=NIGERIA, channel="sms").status == "pending"
    assert len(standin.requests(NIGERIA)) == 1

    assert sdk.verify.v2.safelist(NIGERIA).delete() is True
    refused(sdk.verify.v2.safelist(NIGERIA).fetch, 404, 20404)
    refused(lambda: verifications(sdk, service).create(to=NIGERIA, channel="sms"), 403, 60605)


# -- the admin API -------------------------------------------------------------------------------

def test_a_lockout_cleared_and_the_audit_log_in_one_slot(live, sdk, service, standin, cluster):
    """The lockout is read and cleared in the number's slot; each admin request's entry goes to the
    audit log and its indexes in one script, which Redis runs only while they share one slot."""
    number = spread(cluster, service.sid)[2]
    for count in (1, 2):
        verifications(sdk, service).create(to=number, channel="sms")
        code = code_in(standin.wait_for_message(number, count=count))
        for _ in range(5):
            checks(sdk, service).create(to=number, code=wrong(code))
    refused(lambda: verifications(sdk, service).create(to=number, channel="sms"), 429, 60202)
    lockout = f"{live.url}/admin/Services/{service.sid}/Lockouts/%2B{number[1:]}"
    assert requests.get(lockout, auth=ADMIN, timeout=15).json()["locked_until"] is not None
    assert requests.delete(lockout, auth=ADMIN, timeout=15).status_code == 204
    assert requests.get(lockout, auth=ADMIN, timeout=15).json()["locked_until"] is None
    assert verifications(sdk, service).create(to=number, channel="sms").status == "pending"

    logged = requests.get(f"{live.url}/admin/AuditLog", params={"PhoneNumber": number}, auth=ADMIN, timeout=15)
    assert [entry["action"] for entry in logged.json()["entries"]] == ["lockout.fetch", "lockout.clear",
                                                                       "lockout.fetch"]
    audit_keys = [key for node in cluster.keys(keys.AUDIT_LOG + "*") for key in node]
    assert len(audit_keys) == 4  # the log, and the account's, the service's and the number's indexes
    assert len({connect(cluster.url).keyslot(key) for key in audit_keys}) == 1


# -- the hot path when the cluster misbehaves -----------------------------------------------------

def test_a_check_survives_the_cluster_losing_its_scripts(sdk, service, standin, cluster):
    """A failover or restart empties a node's script cache; the next check loads the script."""
    verifications(sdk, service).create(to=MOBILE, channel="sms")
    code = code_in(standin.wait_for_message(MOBILE))
    for node in cluster.nodes:
        node.script_flush()
    assert checks(sdk, service).create(to=MOBILE, code=wrong(code)).status == "pending"
    for node in cluster.nodes:
        node.script_flush()
    assert checks(sdk, service).create(to=MOBILE, code=code).status == "approved"


def test_checks_survive_the_nodes_dropping_the_connections(sdk, service, standin, cluster):
    verification = verifications(sdk, service).create(to=MOBILE, channel="sms")
    code = code_in(standin.wait_for_message(MOBILE))
    for _ in range(3):
        for node in cluster.nodes:
            node.client_kill_filter(_type="normal", skipme=True)
        assert checks(sdk, service).create(to=MOBILE, code=wrong(code)).status == "pending"
    assert stored_checks(cluster.client(), service.sid, verification.sid) == 3


def test_a_check_while_its_node_is_silent_is_503_and_counted_at_most_once(live, sdk, service, standin, cluster):
    """The node holding the number stops answering for 2.5 s: the check gives up after the
    2-second timeout with a 503 and is not sent again (a copy sent on a new connection would be
    answered once the node wakes), so the node counts it once when it wakes."""
    service_node = cluster.node_of(keys.service(service.sid))
    node, number = next((node, number) for node, number in enumerate(spread(cluster, service.sid))
                        if node != service_node)  # the service's hash stays readable
    verification = verifications(sdk, service).create(to=number, channel="sms")
    message = standin.wait_for_message(number)
    code = code_in(message)
    standin.wait_for_callbacks(message["sid"], 2)  # nothing else reaches the node meanwhile
    # A first check loads check.lua on every node, and leaves the app a connection to this one.
    assert checks(sdk, service).create(to=number, code=wrong(code)).status == "pending"
    process, answers = cluster.processes[node], []
    thread = threading.Thread(target=lambda: answers.append(
        api(live, "POST", f"Services/{service.sid}/VerificationCheck", To=number, Code=wrong(code))))

    process.send_signal(signal.SIGSTOP)
    try:
        thread.start()
        time.sleep(2.5)
    finally:
        process.send_signal(signal.SIGCONT)
    thread.join(15)
    assert not thread.is_alive(), "a check hung on a silent node"
    assert answers[0].status_code == 503 and answers[0].json()["code"] == 20503
    store = cluster.client()
    deadline = time.monotonic() + 5
    while stored_checks(store, service.sid, verification.sid) == 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # the woken node runs the check
    time.sleep(0.3)  # time enough for a second copy to run, were there one
    assert stored_checks(store, service.sid, verification.sid) == 2
    assert checks(sdk, service).create(to=number, code=code).status == "approved"


def test_entities_factors_and_challenges(sdk, service):
    """entity_create, factor_create, factor_update, entity_default, challenge_create,
    challenge_update, factor_delete and entity_delete.lua, for entities on several nodes."""
    entities = sdk.verify.v2.services(service.sid).entities
    for n in range(6):  # identities whose slots differ
        identity = f"cluster-user-{n:04d}"
        created = entities(identity).new_factors.create(friendly_name="Phone", factor_type="totp")
        totp = pyotp.TOTP(created.binding["secret"])
        code = totp.now()
        assert entities(identity).factors(created.sid).update(auth_payload=code).status == "verified"
        entity = requests.post(f"{sdk.verify.v2.services(service.sid).entities(identity).fetch().url}",
                               data={"DefaultFactorSid": created.sid}, auth=(API_KEY, API_SECRET), timeout=10)
        assert entity.json()["default_factor_sid"] == created.sid
        challenge = entities(identity).challenges.create(factor_sid=created.sid)
        # The code that verified the factor is spent: the challenge stays pending.
        assert entities(identity).challenges(challenge.sid).update(auth_payload=code).status == "pending"
        assert entities(identity).factors(created.sid).delete() is True
    assert len(entities.list()) == 6
    for n in range(6):
        assert entities(f"cluster-user-{n:04d}").delete() is True
    assert entities.list() == []


def test_an_accounts_methods_exported_and_imported_entity_by_entity(live, sdk, service, cluster):
    """entity_export and entity_import.lua, for entities on every node: an export reads the
    account's services index and each service's entities index (no SCAN), and an import writes
    each entity in one script in its own slot."""
    entities = sdk.verify.v2.services(service.sid).entities
    identities, nodes = [], set()
    for n in range(40):
        identity = f"cluster-user-{n:04d}"
        node = cluster.node_of(keys.entity(service.sid, identity))
        if node not in nodes or len(identities) < 6:
            nodes.add(node)
            identities.append(identity)
            created = entities(identity).new_factors.create(friendly_name="Phone", factor_type="totp")
            assert entities(identity).factors(created.sid).update(
                auth_payload=pyotp.TOTP(created.binding["secret"]).now()).status == "verified"
        if len(nodes) == MASTERS and len(identities) >= 6:
            break
    assert len(nodes) == MASTERS
    export = f"{live.url}/admin/Accounts/{APP_ACCOUNT_SID}/Methods/Export"
    body = requests.get(export, auth=ADMIN, timeout=15).content
    assert [line["identity"] for line in map(json.loads, body.splitlines()[1:-1])] == identities
    for identity in identities:
        assert entities(identity).delete() is True

    answer = requests.post(f"{live.url}/admin/Accounts/{APP_ACCOUNT_SID}/Methods/Import", data=body, auth=ADMIN,
                           headers={"Content-Type": "application/x-ndjson"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["imported"], answer.json()["refused"]) == (len(identities), [])
    assert [e.identity for e in entities.list()] == identities
    again = requests.get(export, auth=ADMIN, timeout=15).content
    assert [json.loads(line) for line in again.splitlines()[1:]] == [json.loads(line) for line in body.splitlines()[1:]]


def test_phone_factors_and_their_challenges(live, sdk, service, standin):
    """factor_create.lua's one-per-kind look-up, challenge_create.lua on an unverified phone
    factor, and challenge_settle.lua from an approve call's # (the verification's slot, then the
    entity's), for entities on several nodes."""
    for n in range(4):  # identities whose slots differ
        identity, number = f"cluster-phone-{n:04d}", CANDIDATES[n]
        standin.set_callee(number, answer="human", keys=["#"])
        base = f"Services/{service.sid}/Entities/{identity}"
        factor = api(live, "POST", f"{base}/Factors", FactorType="phone", FriendlyName="Mobile", **{
            "Config.Kind": "mobile", "Config.Channel": "call_approve", "Binding.PhoneNumber": number}).json()
        second = api(live, "POST", f"{base}/Factors", FactorType="phone", FriendlyName="Mobile", **{
            "Config.Kind": "mobile", "Binding.PhoneNumber": CANDIDATES[n + 10]})
        assert (second.status_code, second.json()["code"]) == (409, 60317)
        challenge = api(live, "POST", f"{base}/Challenges", FactorSid=factor["sid"]).json()
        assert challenge["status"] == "pending", challenge
        assert run_call(standin, number)["said"][-1] == "Thank you. Your sign-in is approved. Goodbye."
        assert api(live, "GET", f"{base}/Factors/{factor['sid']}").json()["status"] == "verified"
        assert api(live, "GET", f"{base}/Challenges/{challenge['sid']}").json()["status"] == "approved"
        assert api(live, "GET", base).json()["default_factor_sid"] == factor["sid"]


def test_sign_ins_and_a_persons_methods_by_round_trip(sdk, service, cluster):
    """eam_signin_open, eam_signin_step and entity_methods.lua sent by round_trip.py's cluster
    path: a sign-in's hint spent once, its fields read back, and people on several nodes read
    with their factors in one script each."""
    client = connect(cluster.url)
    eam = EamStore(client)
    fields = {"st": "open", "ex": repr(time.time() + 300), "wc": "0"}
    assert eam.open_signin("signin-one", "d" * 64, fields, 900, 300) == (True, [])
    assert eam.open_signin("signin-two", "d" * 64, fields, 900, 300) == (False, [])  # the same hint
    assert eam.signin("signin-one") == fields and eam.signin("signin-two") is None
    assert eam.step("signin-one", time.time(), {"ch": "totp"}, wrong_code=True) == ("ok", 1)

    entities = sdk.verify.v2.services(service.sid).entities
    store = MethodStore(client)
    for n in range(6):  # identities whose slots differ
        identity = f"cluster-person-{n:04d}"
        made = [entities(identity).new_factors.create(friendly_name=f"App {k}", factor_type="totp").sid
                for k in range(n % 3)]
        if not made:
            entities.create(identity=identity)
        entity, factors = store.methods(service.sid, identity)
        assert entity["sid"].startswith("YE") and [factor["sid"] for factor in factors] == made
    assert store.methods(service.sid, "cluster-person-none") == (None, [])
    # A sign-in opened with its person's methods read in the same call: the keys on two nodes.
    opened, (found,) = eam.open_signin("signin-three", "e" * 64, fields, 900, 300,
                                       store.methods_read(service.sid, "cluster-person-0002"))
    assert opened is True and [factor["fn"] for factor in found[1]] == ["App 0", "App 1"]
    # Reads of two stores sent together (round_trip.read_together), their keys on different nodes.
    first, second = store.read(*[store.entity_and_read(service.sid, f"cluster-person-{n:04d}",
                                                       keys.entity(service.sid, f"cluster-person-{n:04d}"))
                                 for n in (1, 2)])
    assert first[0]["sid"].startswith("YE") and second[0]["sid"].startswith("YE") and first[0] != second[0]
