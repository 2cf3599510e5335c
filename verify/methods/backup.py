"""Export and import of an account's entities and factors, for backups and migrations.

An export is JSON lines: a header (FORMAT, VERSION, the account, when, and the id of the key
that sealed the seeds), one line per entity with every field of its hash and of each of its
factors' hashes as stored (a TOTP seed stays sealed; a phone factor's number is in full), and a
trailer counting them, by which a reader tells a whole export from one cut short. Challenges
are not exported: they live minutes, and an export would only carry expired ones.

An import writes each entity with its sids and its factors in one script (store/backup.py), or
nothing of it: an identity that exists in its service is skipped, never changed. Each line is
checked first; a line is refused, with its number and the reason, when it is not JSON, not an
entity as an export writes it, names a service that is not the account's, a factor type this
deployment does not run, or a seed that neither SECRET_KEY nor SECRET_KEY_PREVIOUS opens (the
seed is opened to tell, and what it holds is dropped at once).
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from .. import errors, sids
from ..sealing import Keyring, SealError
from ..services import Services
from ..store.backup import BackupStore
from ..store.methods import FACTORS_PER_ENTITY
from .entities import valid_identity
from .totp import sealed_seed

FORMAT = "telverify-methods"
VERSION = 1
FIELD_NAME = re.compile(r"[A-Za-z0-9_]{1,32}")
MAX_VALUE = 8192  # characters of one stored field (a sealed seed is about 90)
LISTED = 1000  # skipped or refused lines answered one by one; beyond, only counted


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _compact(value: dict) -> str:
    return json.dumps(value, separators=(",", ":")) + "\n"


class Refused(Exception):
    """A line that is not imported, and why."""


@dataclass
class ImportReport:
    account_sid: str
    source: dict  # the export's header
    dry_run: bool
    imported: int = 0
    factors: int = 0
    skipped: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    skipped_count: int = 0
    refused_count: int = 0
    complete: bool = False  # the export's trailer was read

    def skip(self, line: int, service_sid: str, identity: str, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < LISTED:
            self.skipped.append({"line": line, "service_sid": service_sid, "identity": identity, "reason": reason})

    def refuse(self, line: int, reason: str, **about) -> None:
        self.refused_count += 1
        if len(self.refused) < LISTED:
            self.refused.append({"line": line, **about, "reason": reason})


def _strings(value, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise Refused(f"{what} is not an object of fields")
    for name, text in value.items():
        if not FIELD_NAME.fullmatch(name) or not isinstance(text, str) or len(text) > MAX_VALUE:
            raise Refused(f"{what}'s field {name[:40]!r} is not a short name with a text value")
    return value


class MethodBackup:
    def __init__(self, store: BackupStore, services: Services, seeds: Keyring, factor_types: dict):
        self.store = store
        self.services = services
        self.seeds = seeds
        self.types = factor_types  # FactorType -> its module, as factors.py runs them

    # -- export --------------------------------------------------------------------------------
    def export(self, account_sid: str) -> Iterator[str]:
        """The export's lines, each read from Redis as it is wanted."""
        yield _compact({"format": FORMAT, "version": VERSION, "account_sid": account_sid,
                        "exported_at": _iso(time.time()), "sealing_key_id": self.seeds.current_id,
                        "challenges": "not exported"})
        entities = factors = 0
        for service_sid in self.store.service_sids(account_sid):
            for identity in self.store.identities(service_sid):
                found = self.store.entity(service_sid, identity)
                if found is None:  # deleted since the index was read
                    continue
                entity, stored = found
                entities, factors = entities + 1, factors + len(stored)
                yield _compact({"service_sid": service_sid, "identity": identity, "entity": entity,
                                "factors": [{"sequence": sequence, "fields": fields} for sequence, fields in stored]})
        yield _compact({"end": True, "entities": entities, "factors": factors})

    # -- import --------------------------------------------------------------------------------
    def import_lines(self, account_sid: str, lines: Iterable[tuple[int, bytes | None]], dry_run: bool) -> ImportReport:
        """Import an export's lines ((line number, the line; None for a line too long to read)).
        A first line that is not an export's header answers 400, before anything is written."""
        lines = iter(lines)
        report = ImportReport(account_sid, self._header(next(lines, (1, b""))), dry_run)
        owners: dict[str, str | None] = {}
        for number, raw in lines:
            if raw is None:
                report.refuse(number, "the line is too long for an entity")
                continue
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                report.refuse(number, "malformed JSON")
                continue
            if isinstance(line, dict) and line.get("end") is True:
                report.complete = True
                continue
            about = {}
            if isinstance(line, dict) and isinstance(line.get("identity"), str):
                about = {"service_sid": str(line.get("service_sid"))[:34], "identity": line["identity"][:64]}
            try:
                service_sid, identity, entity, factors = self._entity(line)
                self._owned(account_sid, service_sid, owners)
                self._seeds_open(factors)
            except Refused as refusal:
                report.refuse(number, str(refusal), **about)
                continue
            if dry_run:
                exists = self.store.entity(service_sid, identity) is not None
            else:
                exists = not self.store.add_entity(service_sid, identity, entity, factors, float(entity["ca"]))
            if exists:
                report.skip(number, service_sid, identity, "the identity has an entity in this service already: "
                            "it is left as it is")
            else:
                report.imported += 1
                report.factors += len(factors)
        return report

    @staticmethod
    def _header(first: tuple[int, bytes | None]) -> dict:
        try:
            header = json.loads(first[1] or b"")
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise errors.invalid(f"Line 1 is not the header of a telverify export (format {FORMAT!r}): nothing "
                                 "was imported.")
        if header.get("version") != VERSION:
            raise errors.invalid(f"Line 1: format version {str(header.get('version'))[:20]} is not one this "
                                 f"telverify reads (it reads version {VERSION}): nothing was imported.")
        return header

    def _entity(self, line) -> tuple[str, str, dict, list[tuple[int, dict]]]:
        if not isinstance(line, dict):
            raise Refused("not an entity as an export writes it")
        service_sid, identity = line.get("service_sid"), line.get("identity")
        if not (isinstance(service_sid, str) and sids.is_sid(service_sid, sids.SERVICE)):
            raise Refused("`service_sid` is not a service's sid")
        if not (isinstance(identity, str) and valid_identity(identity)):
            raise Refused("`identity` is not an entity's identity")
        entity = dict(_strings(line.get("entity"), "the entity"))
        if not sids.is_sid(entity.get("sid", ""), sids.ENTITY):
            raise Refused("the entity has no sid")
        listed = line.get("factors")
        if not isinstance(listed, list) or len(listed) > FACTORS_PER_ENTITY:
            raise Refused(f"`factors` is not a list of at most {FACTORS_PER_ENTITY}")
        factors, sequences = [], set()
        for listed_factor in listed:
            if not isinstance(listed_factor, dict):
                raise Refused("a factor is not an object")
            sequence, fields = listed_factor.get("sequence"), _strings(listed_factor.get("fields"), "a factor")
            sid = fields.get("sid", "")
            if not sids.is_sid(sid, sids.FACTOR):
                raise Refused("a factor has no sid")
            if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1 or sequence in sequences:
                raise Refused(f"factor {sid}'s `sequence` is not a number of its own, from 1")
            self._readable(sid, fields)
            sequences.add(sequence)
            factors.append((sequence, fields))
        try:
            float(entity["ca"]), float(entity["ua"])
        except (KeyError, ValueError):
            raise Refused("the entity's dates (`ca`, `ua`) are missing or not numbers") from None
        default = entity.get("df", "")
        if default and default not in {fields["sid"] for _, fields in factors}:
            raise Refused(f"the default factor {default[:34]} is not among the entity's factors")
        if len({fields["sid"] for _, fields in factors}) < len(factors):
            raise Refused("a factor sid is listed twice")
        kinds = [fields.get("kd") for _, fields in factors if fields.get("ty") == "phone"]
        if len(set(kinds)) < len(kinds):
            raise Refused("two phone factors of one kind: an entity has at most one mobile, one alternate and one "
                          "office phone")
        # The next factor created gets a sequence number after every imported one.
        entity["sq"] = str(max([*sequences, int(entity["sq"]) if entity.get("sq", "").isdigit() else 0]))
        entity.setdefault("df", "")
        return service_sid, identity, entity, sorted(factors, key=lambda pair: pair[0])

    def _readable(self, sid: str, fields: dict[str, str]) -> None:
        """Refuse a factor that this deployment could not answer: a type it does not run, or
        without what its type reads."""
        method = self.types.get(fields.get("ty"))
        if method is None:
            raise Refused(f"factor {sid}: type {fields.get('ty', '')[:20]!r} is not one this deployment runs "
                          f"({', '.join(sorted(self.types))})")
        try:
            float(fields["ca"]), float(fields["ua"])
            fields["fn"], fields["st"]
            method.config(fields)
        except (KeyError, ValueError, TypeError):
            raise Refused(f"factor {sid}: fields its type ({fields['ty']}) needs are missing or malformed") from None

    def _owned(self, account_sid: str, service_sid: str, owners: dict[str, str | None]) -> None:
        if service_sid not in owners:
            owners[service_sid] = self.services.owner(service_sid)
        if owners[service_sid] is None:
            raise Refused(f"service {service_sid} does not exist here: create it first (its entities keep its sid)")
        if owners[service_sid] != account_sid:
            raise Refused(f"service {service_sid} belongs to another account")

    def _seeds_open(self, factors: list[tuple[int, dict]]) -> None:
        """Each sealed seed opens under SECRET_KEY or SECRET_KEY_PREVIOUS, bound to its factor.
        What it holds is not kept: the seed is stored as it was exported."""
        sealed_elsewhere = []
        for _, fields in factors:
            if "sd" in fields:
                try:
                    self.seeds.open(sealed_seed(fields), fields["sid"])
                except SealError:
                    key_id = fields.get("sv", "")[:16]
                    sealed_elsewhere.append(f"{fields['sid']} (sealed under key {key_id!r})")
        if sealed_elsewhere:
            raise Refused(f"the seed of factor {', '.join(sealed_elsewhere)} opens under neither SECRET_KEY nor "
                          f"SECRET_KEY_PREVIOUS (key {self.seeds.current_id!r} here): import it where the key that "
                          "sealed it is SECRET_KEY or SECRET_KEY_PREVIOUS")
