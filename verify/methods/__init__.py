"""Verify's Entities, Factors and Challenges: an entity (a user of the relying application) holds
factors (`totp`: an authenticator app; telverify's `phone`: a mobile, alternate or office phone),
and a challenge asks a factor for a code, or (a phone's) starts a verification to it.

Each factor type is a module with the same methods (totp.py's TotpMethod); factors.py picks one
by `FactorType`, so another type is one more module and one more entry in `Methods.build`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..sealing import Keyring
from ..services import Services
from ..store.methods import MethodStore
from ..verifications import Verifications
from .challenges import Challenges
from .entities import Entities
from .factors import Factors
from .phone import PhoneMethod
from .phone_challenges import PhoneChallenges
from .totp import TotpMethod


@dataclass(frozen=True)
class Methods:
    entities: Entities
    factors: Factors
    challenges: Challenges

    @classmethod
    def build(cls, store: MethodStore, services: Services, seeds: Keyring, verifications: Verifications) -> Methods:
        """`seeds`: the keyring that seals TOTP seeds; `verifications`: what phone factors'
        challenges start (app.py hands their approve calls' decisions to
        `challenges.settle_from_verification`)."""
        entities = Entities(store, services)
        factors = Factors(store, services, entities, {TotpMethod.name: TotpMethod(seeds),
                                                      PhoneMethod.name: PhoneMethod(verifications)})
        challenges = Challenges(store, entities, factors, PhoneChallenges(store, verifications))
        return cls(entities, factors, challenges)
