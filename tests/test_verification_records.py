"""What a verification keeps once it has ended (store/keys.py): its record in its number's key and
nothing of its code, every answer as it was, a fraction of the memory it took while pending; and
verifications stored whole in their hash, the older format, working on."""
from __future__ import annotations

import math
import secrets
import time
from urllib.parse import urlencode

import pytest
import redis
from freezegun import freeze_time
from twilio.request_validator import RequestValidator

from tests.support import AUTH_TOKEN, MOBILE, SECRET_KEY, code_in, stored_record, stored_records
from tests.test_voice_webhooks import Twilio, press, said
from verify import sids
from verify.codes import CodeBook
from verify.store import keys
from verify.store.connection import connect
from verify.store.verifications import Send, Store
from voice.speech import PHRASES

RECORD = {"to", "ch", "st", "ca", "ua", "ex", "lc", "ck", "fr", "newest", "attempts"}
CODES = CodeBook(SECRET_KEY)
TAGS = sids.NumberTags(SECRET_KEY)
START = "2026-11-24 10:00:00.750"  # a fraction of a second: answers show whole seconds, floored
STARTED = 1795514400.75  # START, in epoch seconds
CREATED, EXPIRES = "2026-11-24T10:00:00Z", "2026-11-24T10:10:00Z"


@pytest.fixture
def acme(client, auth):
    return client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth).get_json()


@pytest.fixture
def store(redis_url):
    return redis.Redis.from_url(redis_url, decode_responses=True)


def start(client, auth, service, channel="sms", to=MOBILE, **params):
    answer = client.post(f"/v2/Services/{service['sid']}/Verifications", data={"To": to, "Channel": channel, **params},
                         auth=auth)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def fetch(client, auth, verification):
    answer = client.get(f"/v2/Services/{verification['service_sid']}/Verifications/{verification['sid']}", auth=auth)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def check(client, auth, verification, code, by="To"):
    who = {"To": verification["to"]} if by == "To" else {"VerificationSid": verification["sid"]}
    return client.post(f"/v2/Services/{verification['service_sid']}/VerificationCheck", data={"Code": code, **who},
                       auth=auth)


def update(client, auth, verification, status):
    return client.post(f"/v2/Services/{verification['service_sid']}/Verifications/{verification['sid']}",
                       data={"Status": status}, auth=auth)


def report_delivery(client, verification, status, attempt=1, **form):
    """A delivery report, signed as Twilio signs it."""
    path = "/sms/status?" + urlencode({"service": verification["service_sid"], "verification": verification["sid"],
                                       "attempt": attempt})
    form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": status, **form}
    signature = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost" + path, form)
    assert client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code == 204


def wrong(code):
    return "".join(str((int(d) + 1) % 10) for d in code)


def kept_only_as_record(store, verification, status):
    """The verification's record, once it has ended: what its answers read, its working hash
    (the code, salt and digest) gone, and nothing else in its number's key but the number's sends."""
    number_key, working_key = keys.verification_keys(verification["service_sid"], verification["sid"])
    record = stored_record(store, verification["service_sid"], verification["sid"])
    assert set(record) == RECORD and record["st"] == status
    assert not store.exists(working_key)
    names = {line.partition("=")[0] for line in store.get(number_key).split("\n")[1:]}
    assert names - {verification["to"]} == {sids.record_name(verification["sid"])}
    return record


# --- each way a text verification ends ----------------------------------------------------------

ENDINGS = {
    # name: (what ends it, its status, when it was updated)
    "approved by its code": (lambda c, a, v, code: check(c, a, v, code), "approved", "10:00:33"),
    "approved by the application": (lambda c, a, v, code: update(c, a, v, "approved"), "approved", "10:00:33"),
    "canceled": (lambda c, a, v, code: update(c, a, v, "canceled"), "canceled", "10:00:33"),
    "five wrong codes": (lambda c, a, v, code: [check(c, a, v, wrong(code)) for _ in range(4)][-1],
                         "max_attempts_reached", "10:00:33"),
}
EXPIRY_ENDINGS = {
    # name: what touches it once its code has expired
    "a check": lambda c, a, v, code: check(c, a, v, code),
    "a check by its sid": lambda c, a, v, code: check(c, a, v, code, by="VerificationSid"),
    "the application": lambda c, a, v, code: update(c, a, v, "approved"),
    "a new start for the number": lambda c, a, v, code: start(c, a, {"sid": v["service_sid"]}),
}


def pending_then(client, auth, acme, standin, clock):
    """A text verification with a delivery report and a wrong code behind it: its code, and its
    answer while pending."""
    verification = start(client, auth, acme)
    code = code_in(standin.wait_for_message(MOBILE))
    report_delivery(client, verification, "delivered")
    clock.tick(12.5)
    assert check(client, auth, verification, wrong(code)).get_json()["status"] == "pending"
    pending = fetch(client, auth, verification)
    assert (pending["date_created"], pending["date_updated"], pending["date_expires"]) == (
        CREATED, "2026-11-24T10:00:13Z", EXPIRES)
    clock.tick(20.5)
    return verification, code, pending


@pytest.mark.parametrize("ending", ENDINGS)
def test_an_ended_text_verification_answers_as_it_did(client, auth, acme, standin, store, ending):
    end, status, updated = ENDINGS[ending]
    with freeze_time(START) as clock:
        verification, code, pending = pending_then(client, auth, acme, standin, clock)
        answer = end(client, auth, verification, code)
        assert answer.status_code == 200, answer.get_json()
        ended = fetch(client, auth, verification)
        assert ended == {**pending, "status": status, "valid": status == "approved",
                         "date_updated": f"2026-11-24T{updated}Z"}
        if "send_code_attempts" in answer.get_json():  # the application's update answers the verification
            assert answer.get_json() == ended
        else:  # a check answers the fields it shares with the verification, as they now stand
            assert {k: v for k, v in answer.get_json().items() if k in ended} == {
                k: ended[k] for k in answer.get_json() if k in ended}
        record = kept_only_as_record(store, verification, status)
        assert record["attempts"] == [["1", "", "0", "delivered"]] and record["newest"]  # "": its channel
        # Checks of it are refused, by To and by sid alike.
        refused = check(client, auth, verification, code)
        assert refused.status_code in (404, 429)
        assert refused.get_json() == check(client, auth, verification, code, by="VerificationSid").get_json()
        # A delivery report that comes late still lands.
        report_delivery(client, verification, "undelivered", ErrorCode="30003")
        late = fetch(client, auth, verification)["send_code_attempts"]
        assert (late[0]["delivery_status"], late[0]["error_code"]) == ("undelivered", "30003")


@pytest.mark.parametrize("touch", EXPIRY_ENDINGS)
def test_an_expired_text_verification_answers_as_it_did(client, auth, acme, standin, store, touch):
    with freeze_time(START) as clock:
        verification, code, pending = pending_then(client, auth, acme, standin, clock)
        clock.tick(600)
        expired = fetch(client, auth, verification)  # expiry is a matter of time: read, not written
        assert expired == {**pending, "status": "expired", "date_updated": EXPIRES}
        assert stored_record(store, acme["sid"], verification["sid"])["st"] == "pending"
        answer = EXPIRY_ENDINGS[touch](client, auth, verification, code)
        if touch != "a new start for the number":
            assert answer.status_code == 404 and "expired" in answer.get_json()["message"]
        assert fetch(client, auth, verification) == expired
        record = stored_record(store, acme["sid"], verification["sid"])
        assert set(record) == RECORD and record["st"] == "expired" and (record["ua"], record["ex"]) == ("600", "600")
        assert not store.exists(keys.verification(acme["sid"], verification["sid"]))
        if touch == "a new start for the number":  # the new one is where checks by To now go
            assert not record["newest"] and stored_record(store, acme["sid"], answer["sid"])["newest"]


def test_a_verification_left_to_expire_loses_its_working_hash_to_its_ttl(client, auth, acme, standin, store):
    """No script runs when nothing touches an expired verification: its working hash expires a
    minute after its code (the TTL only collects what "now" has already made useless), and its
    record answers on as it did."""
    with freeze_time(START) as clock:
        verification, code, pending = pending_then(client, auth, acme, standin, clock)
        number_key, working_key = keys.verification_keys(acme["sid"], verification["sid"])
        # Redis counts real seconds, not the frozen clock's: set when the code had 599.25 s to run.
        assert 600 < store.ttl(working_key) <= 600 + 60
        assert 86400 + 600 < store.ttl(number_key) <= 86400 + 600 + 60
        clock.tick(600)
        expired = fetch(client, auth, verification)
        store.delete(working_key)  # what its TTL does a minute later
        assert fetch(client, auth, verification) == expired == {**pending, "status": "expired",
                                                                 "date_updated": EXPIRES}
        refused = check(client, auth, verification, code)
        assert refused.status_code == 404 and "expired" in refused.get_json()["message"]
        assert fetch(client, auth, verification) == expired
        kept_only_as_record(store, verification, "expired")


def test_without_its_working_hash_a_pending_code_is_not_accepted(client, auth, acme, standin, store):
    """Were the working hash gone while the code still runs (a clock far behind Redis's), the
    code is as good as expired: never approved without its digest."""
    verification = start(client, auth, acme)
    code = code_in(standin.wait_for_message(MOBILE))
    store.delete(keys.verification(acme["sid"], verification["sid"]))
    refused = check(client, auth, verification, code)
    assert refused.status_code == 404 and "expired" in refused.get_json()["message"]
    kept_only_as_record(store, verification, "expired")


# --- each way a call ends -----------------------------------------------------------------------

def answered_call(client, auth, service, locale):
    """An approve call in `locale`, answered: its verification, Twilio's side of the call, the
    prompt it heard, and the verification's answer meanwhile."""
    verification = start(client, auth, service, "call_approve", Locale=locale)
    twilio = Twilio(client, verification)
    prompt = twilio.twiml("answer")
    return verification, twilio, prompt, fetch(client, auth, verification)


@pytest.mark.usefixtures("nobody_answers")
@pytest.mark.parametrize("decision", ["approved", "fraud_reported"])
def test_an_ended_approve_call_answers_as_it_did(client, auth, acme, store, decision):
    with freeze_time(START) as clock:
        verification, twilio, prompt, pending = answered_call(client, auth, acme, "fr")
        clock.tick(20)
        step = "approve"
        if decision == "fraud_reported":
            prompt, step = press(twilio, prompt, "0"), "fraud"  # 0, then # confirms
        first = twilio.post("key", {"Digits": "#"}, step=step, round=1)
        ended = fetch(client, auth, verification)
        status = "approved" if decision == "approved" else "failed"
        attempt = {**pending["send_code_attempts"][0], "outcome": decision}
        assert ended == {**pending, "status": status, "valid": decision == "approved",
                         "date_updated": "2026-11-24T10:00:20Z", "call_outcome": decision,
                         "fraud_reported": decision == "fraud_reported", "send_code_attempts": [attempt]}
        # Twilio repeats the key press: the same words, from the record alone.
        assert twilio.post("key", {"Digits": "#"}, step=step, round=1).data == first.data
        assert said(press(twilio, prompt, "#")) == PHRASES["fr"][decision]
        # The call's last status lands; any other moment of it hears the apology, in French.
        twilio.post("status", {"CallStatus": "completed", "AnsweredBy": "human"})
        assert said(twilio.twiml("answer")) == PHRASES["fr"]["inactive"]
        last = fetch(client, auth, verification)
        assert last == {**ended, "send_code_attempts": [{**attempt, "delivery_status": "completed",
                                                         "answered_by": "human"}]}
        record = kept_only_as_record(store, verification, status)
        assert (record["lc"], record["fr"]) == ("fr", "1" if decision == "fraud_reported" else "")
        assert record["attempts"] == [["1", "", "0", "completed", "", twilio.call_sid, "human", decision]]


@pytest.mark.usefixtures("nobody_answers")
def test_an_approve_call_pressed_after_expiry_is_final(client, auth, acme, store):
    with freeze_time(START) as clock:
        verification, twilio, prompt, pending = answered_call(client, auth, acme, "es")
        clock.tick(600)
        assert said(press(twilio, prompt, "#")) == PHRASES["es"]["inactive"]
        assert fetch(client, auth, verification) == {**pending, "status": "expired", "date_updated": EXPIRES}
        kept_only_as_record(store, verification, "expired")


# --- memory ---------------------------------------------------------------------------------------

def memory(store, *names):
    return sum(store.memory_usage(name, samples=0) or 0 for name in names)


def test_an_ended_verification_takes_under_half_the_memory_of_a_pending_one(client, auth, acme, standin, store):
    verification = start(client, auth, acme)
    number_key, working_key = keys.verification_keys(acme["sid"], verification["sid"])
    pending = memory(store, number_key, working_key)
    assert check(client, auth, verification, code_in(standin.wait_for_message(MOBILE))).status_code == 200
    ended = memory(store, number_key, working_key)
    assert ended < pending / 2, (ended, pending)
    # And the same verification stored whole, as the older format kept it for a day, with its
    # number's state: more than twice as much again.
    whole = store_whole(store, acme["sid"], MOBILE, "123456", time.time(), status="approved")
    assert ended < memory(store, *whole) / 2


@pytest.mark.usefixtures("nobody_answers")
def test_an_ended_approve_call_takes_at_most_half_the_memory_of_a_pending_one(client, auth, acme, store):
    """A call's record grows as it ends (who answered, the outcome), and is still no more than
    half of what it took pending, and under half of it stored whole, the older format."""
    verification = start(client, auth, acme, "call_approve")
    twilio = Twilio(client, verification)
    twilio.post("status", {"CallStatus": "ringing"})
    number_key, working_key = keys.verification_keys(acme["sid"], verification["sid"])
    pending = memory(store, number_key, working_key)
    press(twilio, twilio.twiml("answer"), "#")
    twilio.post("status", {"CallStatus": "completed", "AnsweredBy": "human"})
    ended = memory(store, number_key, working_key)
    assert fetch(client, auth, verification)["status"] == "approved"
    assert ended <= pending / 2, (ended, pending)
    whole = store_whole(store, acme["sid"], MOBILE, "123456", time.time(), status="approved", channel="call_approve",
                        attempt="completed", c1=twilio.call_sid, m1="human", o1="approved")
    assert ended < memory(store, *whole) / 2


def test_a_failed_check_costs_its_number_a_small_entry(client, auth, acme, standin, store):
    """The number's failed checks stay a compact listpack: members short enough for it."""
    verification = start(client, auth, acme)
    code = code_in(standin.wait_for_message(MOBILE))
    for _ in range(4):
        check(client, auth, verification, wrong(code))
    failed = keys.failed_checks(acme["sid"], TAGS(MOBILE))
    assert store.object("encoding", failed) == "listpack"
    assert store.zrange(failed, 0, -1) == [f"{sids.record_name(verification['sid'])}:{n}" for n in range(1, 5)]


# --- the day a number's key keeps ------------------------------------------------------------------

def test_records_past_their_day_go_when_the_number_starts_again(client, auth, acme, standin, store):
    with freeze_time(START) as clock:
        first = start(client, auth, acme)
        assert update(client, auth, first, "canceled").status_code == 200
        clock.tick(86400 + 60 - 1)  # its last second
        second = start(client, auth, acme)
        assert update(client, auth, second, "canceled").status_code == 200
        assert set(stored_records(store)) == {first["sid"], second["sid"]}
        clock.tick(1)
        third = start(client, auth, acme)
        assert set(stored_records(store)) == {second["sid"], third["sid"]}
        assert client.get(f"/v2/Services/{acme['sid']}/Verifications/{first['sid']}", auth=auth).status_code == 404
        log = store.get(keys.number(acme["sid"], TAGS(MOBILE))).split(f"\n{MOBILE}=")[1].split("\n")[0]
        assert len(log.split(";")) == 2  # the sends of the last day: the first one's has left it


def test_a_start_refused_for_good_leaves_the_number_without_a_newest(client, auth, acme, standin, store):
    """As Verify creates no verification for a number the carrier refuses, checks by To find
    nothing, not the number's previous verification."""
    first = start(client, auth, acme)
    assert update(client, auth, first, "canceled").status_code == 200
    standin.add_fault(to=MOBILE, http_status=400, code=21211, message="refused")
    refused = client.post(f"/v2/Services/{acme['sid']}/Verifications", data={"To": MOBILE, "Channel": "sms"},
                          auth=auth)
    assert refused.status_code == 400
    assert set(stored_records(store)) == {first["sid"]} and not stored_records(store)[first["sid"]]["newest"]
    answer = check(client, auth, first, "123456")
    assert answer.status_code == 404 and "No verification to check" in answer.get_json()["message"]


@pytest.mark.usefixtures("nobody_answers")
def test_what_twilio_reports_never_breaks_a_record(client, auth, acme, store):
    """Only a forged or broken request could send separators in a report: they are dropped."""
    verification = start(client, auth, acme, "call_approve")
    twilio = Twilio(client, verification)
    twilio.post("status", {"CallStatus": "ringing", "AnsweredBy": "hu|ma,n\n="})
    attempt = fetch(client, auth, verification)["send_code_attempts"][0]
    assert attempt["answered_by"] == "human" and attempt["delivery_status"] == "ringing"
    sms = start(client, auth, acme, to="+447400123457")
    report_delivery(client, sms, "undelivered", ErrorCode="300|03,")
    assert fetch(client, auth, sms)["send_code_attempts"][0]["error_code"] == "30003"


# --- verifications stored whole, the older format ----------------------------------------------------

def store_whole(store, service_sid, to, code, created, status="pending", channel="sms", attempt="delivered",
                **extra):
    """A verification stored whole in its hash, and its number's state in its own hash, as
    telverify stored them without number keys (keys.py): (the two keys). Times as Python gave them."""
    sid = sids.new_verification_sid(TAGS(to))
    salt = secrets.token_hex(8)
    updated = created + (0 if status == "pending" else 30.5)
    fields = {"sid": sid, "to": to, "ch": channel, "st": status, "ca": repr(created), "ua": repr(updated),
              "ex": repr(created + 600), "ck": "1", "sn": "1", "sr": "0",
              "a1": f"{channel}|{created!r}|{attempt}|", "sc": CODES.seal(sid, code), "sl": salt,
              "hs": CODES.salted(salt, CODES.digest(service_sid, code)), "lc": "en", "cd": "1", **extra}
    whole, latest = keys.verification(service_sid, sid), keys.latest(service_sid, TAGS(to), to)
    store.hset(whole, mapping=fields)
    store.expire(whole, math.ceil(600 + 86400 + 60) if status == "pending" else 86400 + 60)
    store.hset(latest, mapping={"sid": sid, "log": f"{math.floor(created)}:sv"})
    store.expire(latest, 86400 + 60)
    return whole, latest


def stored_sid(whole):
    return whole.rpartition(":")[2]


def test_a_pending_verification_stored_whole_is_checked_and_carried_over(client, auth, acme, store):
    with freeze_time(START) as clock:
        whole, latest = store_whole(store, acme["sid"], MOBILE, "123456", STARTED)
        verification = {"sid": stored_sid(whole), "service_sid": acme["sid"], "to": MOBILE}
        pending = fetch(client, auth, verification)  # read from the hash as it is
        assert (pending["status"], pending["date_created"], pending["date_expires"]) == ("pending", CREATED, EXPIRES)
        clock.tick(12.5)
        assert check(client, auth, verification, "654321").get_json()["status"] == "pending"  # by To: `latest`
        assert fetch(client, auth, verification) == {**pending, "date_updated": "2026-11-24T10:00:13Z"}
        # Carried over: the record in the number's key, only the working fields left in the hash,
        # which is kept a minute past its code (Redis counts real seconds, not the frozen clock's).
        assert stored_record(store, acme["sid"], verification["sid"])["ck"] == "2"
        assert set(store.hgetall(whole)) == {"sc", "sl", "hs", "cd", "sn", "sr"}
        assert 600 < store.ttl(whole) <= 600 + 60
        assert check(client, auth, verification, "123456").get_json()["status"] == "approved"
        assert fetch(client, auth, verification) == {**pending, "status": "approved", "valid": True,
                                                     "date_updated": "2026-11-24T10:00:13Z"}
        kept_only_as_record(store, verification, "approved")


def test_a_number_stored_whole_is_carried_over_by_its_next_start(client, auth, acme, standin, store):
    with freeze_time(START):
        whole, latest = store_whole(store, acme["sid"], MOBILE, "123456", STARTED)
        resent = start(client, auth, acme)  # the pending one, sent again with its own code
        assert resent["sid"] == stored_sid(whole) and len(resent["send_code_attempts"]) == 2
        assert code_in(standin.wait_for_message(MOBILE)) == "123456"
        assert not store.exists(latest)
        text = store.get(keys.number(acme["sid"], TAGS(MOBILE)))
        assert f"\n{MOBILE}=1795514400:sv;1795514400:s" in text  # its sends, counted on
        assert stored_record(store, acme["sid"], resent["sid"])["newest"]


@pytest.mark.parametrize("status, extra", [
    pytest.param("approved", {}, id="approved"),
    pytest.param("canceled", {}, id="canceled"),
    pytest.param("failed", {"ch": "call_approve", "a1": f"call_approve|{STARTED!r}|completed|", "c1": "CA" + "1" * 32,
                "m1": "human", "o1": "fraud_reported", "fr": "1"}, id="failed, a fraud report"),
])
def test_an_ended_verification_stored_whole_answers_the_same_once_carried_over(client, auth, acme, store, status,
                                                                                extra):
    """Read as it was stored, then from its record once a script has carried it over: the same
    answer, byte for byte."""
    whole, _ = store_whole(store, acme["sid"], MOBILE, "123456", STARTED, status=status, **extra)
    verification = {"sid": stored_sid(whole), "service_sid": acme["sid"], "to": MOBILE}
    stored = client.get(f"/v2/Services/{acme['sid']}/Verifications/{verification['sid']}", auth=auth)
    if extra:  # a late status of its call, which changes nothing
        Twilio(client, verification, call_sid=extra["c1"]).post("status", {"CallStatus": "ringing"})
    else:  # a late delivery report, which changes nothing
        report_delivery(client, verification, "sent")
    assert not store.exists(whole)
    carried = client.get(f"/v2/Services/{acme['sid']}/Verifications/{verification['sid']}", auth=auth)
    assert carried.data == stored.data
    assert stored_record(store, acme["sid"], verification["sid"])["st"] == status
    assert 86400 < store.ttl(keys.number(acme["sid"], TAGS(MOBILE))) <= 86400 + 60


@pytest.mark.usefixtures("nobody_answers")
def test_a_pending_call_stored_whole_is_carried_over_by_its_webhooks(client, auth, acme, store):
    call_sid = "CA" + "2" * 32
    whole, _ = store_whole(store, acme["sid"], MOBILE, "123456", time.time(), channel="call_approve", attempt="queued",
                           c1=call_sid)
    verification = {"sid": stored_sid(whole), "service_sid": acme["sid"], "to": MOBILE}
    twilio = Twilio(client, verification, call_sid=call_sid)
    assert "Acme" in said(twilio.twiml("answer"))
    assert set(store.hgetall(whole)) == {"sc", "sl", "hs", "cd", "sn", "sr"}
    assert store.ttl(whole) <= 660
    assert said(press(twilio, twilio.twiml("answer"), "#")) == PHRASES["en"]["approved"]
    assert fetch(client, auth, verification)["status"] == "approved"
    kept_only_as_record(store, verification, "approved")


# --- numbers whose tags match ---------------------------------------------------------------------

def test_numbers_whose_tags_match_share_a_key_and_keep_apart(redis_url, store):
    """Two numbers of one service whose tags match (a 32-bit digest: rare, and possible) share
    their key: each keeps its own sends, newest verification and records."""
    verifications = Store(connect(redis_url), lambda to: "0badf00d")
    service_sid, numbers, started = "VA" + "ab" * 16, ("+447400123456", "+447400123457"), {}
    store.hset(keys.service(service_sid), "friendly_name", "Acme")

    def send(to, now):
        sid = verifications.new_verification_sid(to)
        salt = secrets.token_hex(8)
        return Send(new_sid=sid, to=to, channel="sms", expires_at=now + 600, sealed_code=CODES.seal(sid, "123456"),
                    salt=salt, salted_digest=CODES.salted(salt, CODES.digest(service_sid, "123456")), locale="en",
                    friendly_name=None, tags=None, send_digits=None, delivers_code=True, number_limits="")

    now = time.time()
    for to in numbers:
        outcome, sid, _, verification = verifications.create_or_resend(service_sid, send(to, now), now)
        assert (outcome, verification.to) == ("created", to)
        started[to] = sid
    assert len({keys.verification_keys(service_sid, sid)[0] for sid in started.values()}) == 1
    wrong_digest = CODES.digest(service_sid, "000000")
    for to in numbers:  # each number's check finds its own verification
        outcome, checked, _ = verifications.check(service_sid, wrong_digest, now, (10, 86400, 900, 86400), to=to)
        assert (outcome, checked.sid, checked.to) == ("wrong", started[to], to)
    right = CODES.digest(service_sid, "123456")
    assert verifications.check(service_sid, right, now, (10, 86400, 900, 86400), to=numbers[0])[0] == "approved"
    assert verifications.fetch(service_sid, started[numbers[1]], now)[1].status == "pending"
    again = verifications.create_or_resend(service_sid, send(numbers[0], now + 1), now + 1)
    assert again[0] == "created" and again[1] != started[numbers[0]]  # the first number's ended one is not re-sent
    resent = verifications.create_or_resend(service_sid, send(numbers[1], now + 1), now + 1)
    assert resent[:2] == ("resent", started[numbers[1]])
    records = stored_records(store)
    assert [records[sid]["newest"] for sid in (started[numbers[0]], again[1], started[numbers[1]])] == [
        False, True, True]
    text = store.get(keys.number(service_sid, "0badf00d"))
    assert {line.partition("=")[0] for line in text.split("\n")[1:] if line.startswith("+")} == set(numbers)
