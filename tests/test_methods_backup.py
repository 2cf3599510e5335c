"""/admin/Accounts/{sid}/Methods/Export and /Import: an account's entities and factors as JSON
lines, round-tripped (a TOTP factor still verifies its codes, the default is kept), refused per
line when malformed or when no configured key opens a seed, and never half-written. Over real
HTTP, entities and factors set up through the `twilio` SDK."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pyotp
import pytest
import redis
import requests
from freezegun import freeze_time

from tests.support import (
    ADMIN_KEY,
    ADMIN_SECRET,
    API_KEY,
    API_SECRET,
    APP_ACCOUNT_SID,
    SECOND_KEY,
    SECOND_SECRET,
    SECRET_KEY,
    Gunicorn,
    LiveServer,
    make_env,
    verify_client,
)
from verify.accounts import account_sid_of
from verify.sealing import Keyring
from verify.store import keys

ADMIN = (ADMIN_KEY, ADMIN_SECRET)
APP = (API_KEY, API_SECRET)
NDJSON = "application/x-ndjson"
T0 = datetime(2030, 1, 7, 10, 0, 0, tzinfo=timezone.utc)
OTHER_KEY = "another-secret-key-0123456789abcdef-0123456789"
PEOPLE = ("person-0001-abcdef", "person-0002-abcdef", "person-0003-abcdef")


@pytest.fixture
def clock():
    with freeze_time(T0) as frozen:
        yield frozen


class Person:
    """An identity with verified TOTP factors made through the SDK; the last one the default."""

    def __init__(self, live, sdk, service_sid: str, identity: str, apps: int, clock):
        self.identity, self.clock = identity, clock
        self.entity = sdk.verify.v2.services(service_sid).entities(identity)
        self.totps: dict[str, pyotp.TOTP] = {}
        for n in range(apps):
            created = self.entity.new_factors.create(friendly_name=f"App {n}", factor_type="totp")
            self.totps[created.sid] = pyotp.TOTP(created.binding["secret"])
            clock.tick(30)
            assert self.entity.factors(created.sid).update(auth_payload=self.totps[created.sid].now()).status \
                == "verified"
        self.default = list(self.totps)[-1]
        answer = requests.post(f"{live.url}/v2/Services/{service_sid}/Entities/{identity}", auth=APP,
                               data={"DefaultFactorSid": self.default}, timeout=15)
        assert answer.json()["default_factor_sid"] == self.default

    def approves(self, entity) -> bool:
        """Whether a challenge of the default factor, with the code of a fresh time step, is approved."""
        self.clock.tick(30)
        code = self.totps[self.default].now()
        return entity.challenges.create(factor_sid=self.default, auth_payload=code).status == "approved"


def export(live, account_sid: str = APP_ACCOUNT_SID) -> list[dict]:
    with requests.get(f"{live.url}/admin/Accounts/{account_sid}/Methods/Export", auth=ADMIN, timeout=15,
                      stream=True) as answer:
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == NDJSON and "Content-Length" not in answer.headers  # streamed
        return [json.loads(line) for line in answer.iter_lines() if line]


def import_lines(live, lines: list, dry_run: bool = False, **headers) -> requests.Response:
    body = b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)
    return requests.post(f"{live.url}/admin/Accounts/{APP_ACCOUNT_SID}/Methods/Import", data=body, auth=ADMIN,
                         params={"DryRun": "true"} if dry_run else None,
                         headers={"Content-Type": NDJSON, **headers}, timeout=30)


def entity_keys(redis_url: str, service_sid: str, identity: str) -> list[str]:
    return redis.Redis.from_url(redis_url).keys(keys.entity_prefix(service_sid, identity).replace("{", "[{]") + "*")


@pytest.fixture
def people(live, sdk, service, clock):
    return [Person(live, sdk, service.sid, identity, apps, clock) for identity, apps in zip(PEOPLE, (2, 1, 3))]


def test_an_export_holds_every_entity_and_factor_with_sealed_seeds(live, service, people, redis_url):
    lines = export(live)
    header, *entities, trailer = lines
    assert header["format"] == "telverify-methods" and header["version"] == 1
    assert header["account_sid"] == APP_ACCOUNT_SID and header["exported_at"].startswith("2030-01-07T")
    assert header["sealing_key_id"] == Keyring(SECRET_KEY, None, b"totp seed").current_id
    assert trailer == {"end": True, "entities": 3, "factors": 6}
    assert [(e["service_sid"], e["identity"]) for e in entities] == [(service.sid, p) for p in PEOPLE]
    db = redis.Redis.from_url(redis_url, decode_responses=True)
    for line, person in zip(entities, people):
        assert line["entity"] == db.hgetall(keys.entity(service.sid, person.identity))
        assert line["entity"]["df"] == person.default
        assert [f["fields"] for f in line["factors"]] == [
            db.hgetall(keys.factor(service.sid, person.identity, sid)) for sid in person.totps]
        assert [f["sequence"] for f in line["factors"]] == list(range(1, len(person.totps) + 1))
        for factor in line["factors"]:  # sealed as stored, never the secret
            assert factor["fields"]["sv"] == header["sealing_key_id"]
            assert person.totps[factor["fields"]["sid"]].secret not in json.dumps(lines)
    audit = requests.get(f"{live.url}/admin/AuditLog", auth=ADMIN, timeout=15).json()["entries"][0]
    assert (audit["action"], audit["status_code"], audit["account_sid"]) == ("methods.export", 200, APP_ACCOUNT_SID)
    # Another account's export holds none of them.
    assert export(live, account_sid_of(SECOND_KEY))[1] == {"end": True, "entities": 0, "factors": 0}


def test_a_round_trip_keeps_the_factors_verifying_and_the_default(live, sdk, service, people, redis_url):
    lines = export(live)
    for person in people:  # the service's entity data is lost
        person.entity.delete()
    assert entity_keys(redis_url, service.sid, PEOPLE[0]) == []

    answer = import_lines(live, lines)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["imported"], report["imported_factors"], report["skipped"], report["refused"]) == (3, 6, [], [])
    assert report["complete"] is True and report["dry_run"] is False
    assert export(live)[1:] == lines[1:]  # as it was, field for field
    entities = sdk.verify.v2.services(service.sid).entities
    assert [e.identity for e in entities.list()] == list(PEOPLE)  # the service's index is right
    for person in people:
        fetched = requests.get(f"{live.url}/v2/Services/{service.sid}/Entities/{person.identity}", auth=APP,
                               timeout=15).json()
        assert fetched["default_factor_sid"] == person.default
        assert person.approves(entities(person.identity))
    # A factor created after the import comes after the imported ones.
    added = entities(PEOPLE[0]).new_factors.create(friendly_name="New", factor_type="totp")
    assert [f.sid for f in entities(PEOPLE[0]).factors.list()] == [*people[0].totps, added.sid]

    # Importing again changes nothing: each identity exists, and is skipped.
    again = import_lines(live, lines).json()
    assert again["imported"] == 0 and [(s["line"], s["identity"]) for s in again["skipped"]] == [
        (2, PEOPLE[0]), (3, PEOPLE[1]), (4, PEOPLE[2])]
    assert len(entities(PEOPLE[0]).factors.list()) == 3
    audit = requests.get(f"{live.url}/admin/AuditLog", auth=ADMIN, timeout=15).json()["entries"]
    # Each export and import is an audit entry (under a frozen clock they share one time, so in no set order).
    assert sorted(e["action"] for e in audit) == ["methods.export", "methods.export", "methods.import",
                                                  "methods.import"]


def test_seeds_no_key_here_opens_are_refused_and_the_previous_key_opens_them(service, people, redis_url, standin,
                                                                             live):
    lines = export(live)
    for person in people:
        person.entity.delete()
    other = LiveServer(lambda url: make_env(redis_url, standin.base_url, url, SECRET_KEY=OTHER_KEY))
    with other:
        report = import_lines(other, lines).json()
        assert report["imported"] == 0 and report["refused_count"] == 3
        refused = report["refused"][0]
        assert (refused["line"], refused["service_sid"], refused["identity"]) == (2, service.sid, PEOPLE[0])
        for sid in people[0].totps:
            assert sid in refused["reason"]
        assert "opens under neither SECRET_KEY nor SECRET_KEY_PREVIOUS" in refused["reason"]
        assert lines[0]["sealing_key_id"] in refused["reason"]
    for identity in PEOPLE:
        assert entity_keys(redis_url, service.sid, identity) == []  # nothing half-written

    rotated = LiveServer(lambda url: make_env(redis_url, standin.base_url, url, SECRET_KEY=OTHER_KEY,
                                              SECRET_KEY_PREVIOUS=SECRET_KEY))
    with rotated:
        report = import_lines(rotated, lines).json()
        assert (report["imported"], report["refused"]) == (3, [])
        entities = verify_client(rotated.url).verify.v2.services(service.sid).entities
        for person in people:
            assert person.approves(entities(person.identity))


def test_malformed_lines_are_reported_by_number_and_nothing_is_half_written(live, service, people, redis_url,
                                                                            second_service_sid):
    header, first, second, third, trailer = export(live)
    for person in people:
        person.entity.delete()
    bad_default = {**second, "entity": {**second["entity"], "df": "YF" + "9" * 32}}
    phone_type = json.loads(json.dumps(third))
    phone_type["factors"][1]["fields"] = {**phone_type["factors"][1]["fields"], "ty": "fax"}
    elsewhere = {**first, "service_sid": second_service_sid}
    answer = import_lines(live, [header, b'{"service_sid": "VA', bad_default, b"[1, 2]", phone_type, elsewhere,
                                 {**first, "service_sid": "VA" + "0" * 32}, b"", first, b"x" * (1024 * 1024 + 10)])
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["imported"] == 1 and report["complete"] is False  # no trailer: an export cut short
    assert [(r["line"], r["reason"].split(":")[0]) for r in report["refused"]] == [
        (2, "malformed JSON"),
        (3, f"the default factor YF{'9' * 32} is not among the entity's factors"),
        (4, "not an entity as an export writes it"),
        (5, f"factor {third['factors'][1]['fields']['sid']}"),
        (6, f"service {second_service_sid} belongs to another account"),
        (7, f"service VA{'0' * 32} does not exist here"),
        (10, "the line is too long for an entity")]
    assert "type 'fax' is not one this deployment runs (phone, totp)" in report["refused"][3]["reason"]
    assert report["refused"][1]["identity"] == PEOPLE[1]
    assert entity_keys(redis_url, service.sid, PEOPLE[1]) == []
    assert entity_keys(redis_url, service.sid, PEOPLE[2]) == []
    assert [line["identity"] for line in export(live)[1:-1]] == [PEOPLE[0]]


@pytest.fixture
def second_service_sid(live):
    return verify_client(live.url, SECOND_KEY, SECOND_SECRET).verify.v2.services.create(friendly_name="Second").sid


def test_a_dry_run_writes_nothing(live, service, people, redis_url):
    lines = export(live)
    people[1].entity.delete()
    report = import_lines(live, lines, dry_run=True).json()
    assert (report["dry_run"], report["imported"], report["skipped_count"]) == (True, 1, 2)
    assert entity_keys(redis_url, service.sid, PEOPLE[1]) == []


@pytest.mark.parametrize("first, word", [(b"{nope", "not the header"), (b'{"format": "csv"}', "not the header"),
                                         (b'{"format": "telverify-methods", "version": 7}', "format version 7")])
def test_an_import_without_an_exports_header_is_refused_whole(live, service, people, redis_url, first, word):
    lines = export(live)
    people[0].entity.delete()
    answer = import_lines(live, [first, *lines[1:]])
    assert answer.status_code == 400 and answer.json()["code"] == 60200 and word in answer.json()["message"]
    assert entity_keys(redis_url, service.sid, PEOPLE[0]) == []
    assert import_lines(live, lines, **{"Content-Type": "application/json"}).status_code == 415
    assert import_lines(live, []).status_code == 400  # an empty body
    malformed = requests.post(f"{live.url}/admin/Accounts/ACnothex/Methods/Import", data=b"", auth=ADMIN,
                              headers={"Content-Type": NDJSON}, timeout=15)
    assert malformed.status_code == 404 and malformed.json()["code"] == 20404


def test_a_large_import_is_read_past_the_forms_limit(live, sdk, service, clock, redis_url):
    """An export of many entities is far over MAX_BODY (64 kB): this route reads up to 64 MB."""
    entities = sdk.verify.v2.services(service.sid).entities
    header = export(live)[0]
    template = Person(live, sdk, service.sid, "template-0000-abcd", 1, clock)
    line = export(live)[1]
    template.entity.delete()
    # The seed is bound to its factor's sid, so each copy keeps it: only the identity differs.
    body = [header] + [{**line, "identity": f"bulk-{n:06d}-abcdef"} for n in range(300)]
    assert len(json.dumps(body)) > 64 * 1024
    report = import_lines(live, body).json()
    assert (report["imported"], report["refused"]) == (300, [])
    assert len(entities.list(limit=1000)) == 300
    assert redis.Redis.from_url(redis_url).zcard(keys.entities_index(service.sid)) == 300


def test_under_gunicorn_a_large_import_is_read_from_the_connection(tmp_path, redis_url, standin):
    """gunicorn's loop reads a request whole only up to MAX_BODY (config/workers.py); past it,
    the request's thread reads the rest of this route's body from the connection as it goes."""
    with Gunicorn(tmp_path, lambda url: make_env(redis_url, standin.base_url, url)) as server:
        sdk = verify_client(server.url)
        service_sid = sdk.verify.v2.services.create(friendly_name="Acme").sid
        entity = sdk.verify.v2.services(service_sid).entities("template-0000-abcd")
        entity.new_factors.create(friendly_name="App", factor_type="totp")
        header, line, _ = export(server)
        entity.delete()
        body = [header] + [{**line, "identity": f"bulk-{n:06d}-abcdef"} for n in range(2000)]
        answer = import_lines(server, body)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["imported"], answer.json()["refused"]) == (2000, [])
        assert requests.get(f"{server.url}/healthz/ready", timeout=15).status_code == 200


def test_an_entity_with_two_phones_of_one_kind_is_refused_whole(live, service, people, redis_url):
    """An export never holds two mobile phones for one person (factor_create.lua refuses the
    second); a file edited to hold them is refused, not imported half-checked."""
    header, first, *_, trailer = export(live)
    people[0].entity.delete()

    def phone(sequence: int, number: str) -> dict:
        return {"sequence": sequence, "fields": {
            "sid": f"YF{sequence:032x}", "ty": "phone", "fn": "Mobile", "st": "verified", "ca": "1", "ua": "1",
            "at": "0", "kd": "mobile", "pc": "sms", "pn": number}}
    doubled = {**first, "factors": [*first["factors"], phone(90, "+447400123456"), phone(91, "+447400654321")]}
    report = import_lines(live, [header, doubled, trailer]).json()
    assert report["imported"] == 0
    assert [(r["line"], r["reason"]) for r in report["refused"]] == [
        (2, "two phone factors of one kind: an entity has at most one mobile, one alternate and one office phone")]
    assert entity_keys(redis_url, service.sid, PEOPLE[0]) == []
