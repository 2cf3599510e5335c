"""What an entity, a factor and a challenge are, read back from their hashes (store/keys.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    sid: str
    service_sid: str
    identity: str
    created: float
    updated: float
    default_factor_sid: str | None

    @classmethod
    def from_hash(cls, service_sid: str, identity: str, raw: dict[str, str]) -> Entity:
        return cls(raw["sid"], service_sid, identity, float(raw["ca"]), float(raw["ua"]), raw.get("df") or None)


@dataclass(frozen=True)
class Factor:
    sid: str
    entity: Entity
    friendly_name: str
    status: str
    factor_type: str
    created: float
    updated: float
    config: dict
    binding: dict | None = None  # answered once, when the factor is created


@dataclass(frozen=True)
class Challenge:
    sid: str
    entity: Entity
    factor_sid: str
    factor_type: str
    status: str
    created: float
    updated: float
    responded: float | None
    expires: float
    details: dict | None
    hidden_details: dict | None
    channel: str | None = None  # a phone challenge's: its verification's channel
    verification_sid: str | None = None  # a phone challenge's verification
    verification_status: str | None = None  # how that verification ended, once it settled this

    @classmethod
    def from_hash(cls, entity: Entity, raw: dict[str, str], now: float) -> Challenge:
        status = raw["st"]
        if status == "pending" and now >= float(raw["ex"]):
            status = "expired"  # stored so by the next code tried; the answer needs no write
        return cls(raw["sid"], entity, raw["fa"], raw.get("ty") or "totp", status, float(raw["ca"]),
                   float(raw["ua"]), float(raw["ra"]) if raw.get("ra") else None, float(raw["ex"]),
                   json.loads(raw["dt"]) if raw.get("dt") else None, json.loads(raw["hd"]) if raw.get("hd") else None,
                   raw.get("ch") or None, raw.get("vs") or None, raw.get("vr") or None)
