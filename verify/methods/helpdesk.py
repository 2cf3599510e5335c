"""A person's sign-in methods as a help desk sees them (/admin): their entity, its default factor
and every factor, without a seed and with phone numbers masked; and the lockouts of the phone
numbers among their factors, cleared together (verify/lockouts.py).

A factor is read from its hash as stored, whatever its type: a phone factor's kind (`kd`),
preferred channel (`pc`), number (`pn`) and extension (`px`) are answered when it has them.
Deleting a factor is factors.py's own delete, so the default moves as it does on /v2.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import phone
from ..lockouts import Lockouts
from ..store.methods import MethodStore
from .entities import Entities
from .factors import Factors
from .model import Entity


@dataclass(frozen=True)
class FactorSummary:
    sid: str
    factor_type: str
    friendly_name: str
    status: str
    created: float
    updated: float
    kind: str | None  # a phone factor's: mobile, alternate, office
    channel: str | None  # a phone factor's preferred channel
    phone_number: str | None  # masked (phone.mask)
    extension: str | None


@dataclass(frozen=True)
class Person:
    entity: Entity
    factors: list[FactorSummary]


@dataclass(frozen=True)
class ClearedNumber:
    phone_number: str  # masked
    factor_sids: list[str]
    was_locked: bool  # a lockout or failed checks were there to clear


def _summary(raw: dict[str, str]) -> FactorSummary:
    return FactorSummary(raw["sid"], raw.get("ty", ""), raw.get("fn", ""), raw.get("st", ""), float(raw["ca"]),
                         float(raw["ua"]), raw.get("kd") or None, raw.get("pc") or None,
                         phone.mask(raw["pn"]) if raw.get("pn") else None, raw.get("px") or None)


class HelpDesk:
    def __init__(self, store: MethodStore, entities: Entities, factors: Factors, lockouts: Lockouts):
        self.store = store
        self.entities = entities
        self.factors = factors
        self.lockouts = lockouts

    def person(self, service_sid: str, identity: str) -> Person:
        """The entity and its factors in creation order, or the entity's 404."""
        entity = self.entities.get(service_sid, identity)
        return Person(entity, [_summary(raw) for raw in self.store.factors(service_sid, identity)])

    def delete_factor(self, service_sid: str, identity: str, factor_sid: str) -> None:
        """A lost phone or authenticator app: removed as /v2 removes it (the default moves on to
        the next verified factor), or the entity's or the factor's 404."""
        self.factors.delete(service_sid, identity, factor_sid)

    def clear_lockouts(self, service_sid: str, identity: str) -> list[ClearedNumber]:
        """Lift the lockout of every phone number among the person's factors, in this service."""
        self.entities.get(service_sid, identity)
        numbers: dict[str, list[str]] = {}
        for raw in self.store.factors(service_sid, identity):
            if raw.get("pn"):
                numbers.setdefault(raw["pn"], []).append(raw["sid"])
        return [ClearedNumber(phone.mask(e164), factor_sids, self.lockouts.clear(service_sid, e164))
                for e164, factor_sids in numbers.items()]
