"""Verify's Entities, Factors and Challenges: an entity (a user of the relying application) holds
factors (today `totp`: an authenticator app), and a challenge asks a verified factor for a code.

Each factor type is a module with the same methods (totp.py's TotpMethod); factors.py picks one
by `FactorType`, so another type is one more module and one more entry in `Methods.build`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..sealing import Keyring
from ..services import Services
from ..store.methods import MethodStore
from .challenges import Challenges
from .entities import Entities
from .factors import Factors
from .totp import TotpMethod


@dataclass(frozen=True)
class Methods:
    entities: Entities
    factors: Factors
    challenges: Challenges

    @classmethod
    def build(cls, store: MethodStore, services: Services, seeds: Keyring) -> Methods:
        """`seeds`: the keyring that seals TOTP seeds."""
        entities = Entities(store, services)
        factors = Factors(store, services, entities, {TotpMethod.name: TotpMethod(seeds)})
        return cls(entities, factors, Challenges(store, entities, factors))
