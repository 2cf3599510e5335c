"""The operations on factors: create (with the entity, when it has none), read, list, change and
verify with a code, delete. What depends on the factor's type is asked of its module (totp.py,
phone.py)."""
from __future__ import annotations

import logging
import time

from .. import errors, sids
from ..errors import VerifyError
from ..sealing import SealError
from ..services import Services
from ..store.methods import FACTORS_PER_ENTITY, MethodStore
from .entities import Entities, require_identity, valid_identity
from .model import Entity, Factor

log = logging.getLogger("telverify.methods")

MAX_WRONG_CODES = 5  # an unverified factor's; then 60310


def factor_not_found(identity: str, factor_sid: str) -> VerifyError:
    return errors.not_found(f"Factor {factor_sid} was not found for entity {identity}.")


def _only_its_options(method, options: dict) -> None:
    """Refuse a parameter given (not None) that belongs to another factor type."""
    foreign = sorted(name for name, value in options.items() if value is not None and name not in method.options)
    if foreign:
        raise errors.invalid(f"{', '.join(OPTION_PARAMETERS.get(n, n) for n in foreign)} does not apply to "
                             f"{method.name} factors.")


OPTION_PARAMETERS = {"time_step": "`Config.TimeStep`", "skew": "`Config.Skew`", "code_length": "`Config.CodeLength`",
                     "alg": "`Config.Alg`", "secret": "`Binding.Secret`", "phone_number": "`Binding.PhoneNumber`",
                     "extension": "`Binding.Extension`", "kind": "`Config.Kind`", "channel": "`Config.Channel`"}


class Factors:
    def __init__(self, store: MethodStore, services: Services, entities: Entities, types: dict):
        self.store = store
        self.services = services
        self.entities = entities
        self.types = types  # FactorType -> its module (totp.TotpMethod, phone.PhoneMethod)

    def create(self, service_sid: str, identity: str, factor_type: str, friendly_name: str, options: dict,
               replaces: str | None = None) -> Factor:
        """A new unverified factor, answered with its binding; the entity is created if needed.
        `replaces`: a phone factor of the same kind it may share the kind with until proven (a
        change of number: the caller deletes that one then)."""
        require_identity(identity)
        method = self._type(factor_type)
        _only_its_options(method, options)
        service = self.services.get(service_sid)
        sid = sids.new_sid(sids.FACTOR)
        fields, binding = method.new(sid, service, friendly_name, options)
        outcome = self.store.create_factor(service_sid, identity, sids.new_sid(sids.ENTITY), sid, time.time(),
                                           {**fields, "ty": method.name, "fn": friendly_name,
                                            **({"rp": replaces} if replaces else {})})
        if outcome == "full":
            raise errors.invalid(f"Entity {identity} has {FACTORS_PER_ENTITY} factors, as many as telverify keeps "
                                 "for one entity: delete one first.")
        if outcome == "duplicate":
            raise VerifyError(errors.FACTOR_EXISTS, f"Entity {identity} has a {fields['kd']} phone already: one "
                              "phone factor of each kind. Delete it first to change the number.", 409)
        return self._factor(self.entities.get(service_sid, identity), self._stored(service_sid, identity, sid),
                            binding)

    def get(self, service_sid: str, identity: str, sid: str) -> Factor:
        entity = self.entities.get(service_sid, identity)
        return self._factor(entity, self._stored(service_sid, identity, sid))

    def list(self, service_sid: str, identity: str, offset: int, limit: int) -> list[Factor]:
        entity = self.entities.get(service_sid, identity)
        return [self._factor(entity, raw) for raw in self.store.factors(service_sid, identity, offset, limit)]

    def update(self, service_sid: str, identity: str, sid: str, friendly_name: str | None, options: dict,
               code: str | None) -> Factor:
        """Change the factor, and verify it when `code` is a valid code (a wrong one is counted:
        the factor stays unverified, and past MAX_WRONG_CODES the answer is 60310)."""
        self.entities.get(service_sid, identity)
        stored = self._stored(service_sid, identity, sid)
        method = self.types[stored["ty"]]
        _only_its_options(method, options)
        if code is not None and not method.takes_codes:
            raise errors.invalid(f"Parameter `AuthPayload` does not apply to {method.name} factors: one is "
                                 "verified by its first approved challenge (POST .../Challenges).")
        changes = method.changes(stored, options)
        if friendly_name is not None:
            changes["fn"] = friendly_name
        # The code is matched with the factor's settings as this request leaves them.
        counter = self.counter(service_sid, identity, sid, {**stored, **changes}, code) \
            if code is not None and stored["st"] == "unverified" else None
        outcome = self.store.update_factor(service_sid, identity, sid, time.time(), counter, MAX_WRONG_CODES,
                                           changes)
        if outcome == "missing":
            raise factor_not_found(identity, sid)
        if outcome == "max":
            raise VerifyError(errors.FACTOR_MAX_ATTEMPTS, f"Factor {sid} took {MAX_WRONG_CODES} wrong codes: it can "
                              "no longer be verified. Create a new factor.", 429)
        return self.get(service_sid, identity, sid)

    def delete(self, service_sid: str, identity: str, sid: str) -> None:
        """When it was the default, the next verified factor in creation order becomes the default."""
        self.entities.get(service_sid, identity)
        if not (sids.is_sid(sid, sids.FACTOR) and self.store.delete_factor(service_sid, identity, sid, time.time())):
            raise factor_not_found(identity, sid)

    def stored(self, service_sid: str, identity: str, sid: str) -> dict[str, str] | None:
        """A factor's hash as stored; None when there is none."""
        if not (valid_identity(identity) and sids.is_sid(sid, sids.FACTOR)):
            return None
        return self.store.factor(service_sid, identity, sid)

    def counter(self, service_sid: str, identity: str, sid: str, stored: dict[str, str], code: str) -> int:
        """The time-step counter `code` matched (-1: none), the seed sealed again when SECRET_KEY
        has been rotated since it was sealed."""
        try:
            counter, resealed = self.types[stored["ty"]].counter(sid, stored, code)
        except SealError:
            # Fail closed: a seed no configured key opens (SECRET_KEY changed without
            # SECRET_KEY_PREVIOUS) approves nothing.
            log.error("the seed of factor %s does not open under SECRET_KEY or SECRET_KEY_PREVIOUS", sid)
            raise errors.unavailable("telverify cannot read this factor's seed: its SECRET_KEY changed. Nothing "
                                     "was approved.") from None
        if resealed:
            self.store.reseal(service_sid, identity, sid, stored["sd"], resealed["sv"], resealed["sd"])
        return counter

    def _type(self, factor_type: str | None):
        if factor_type not in self.types:
            raise errors.invalid(f"Invalid parameter `FactorType`: telverify supports {', '.join(sorted(self.types))}"
                                 f" factors ('{(factor_type or '')[:20]}' is not one).")
        return self.types[factor_type]

    def _stored(self, service_sid: str, identity: str, sid: str) -> dict[str, str]:
        stored = self.stored(service_sid, identity, sid)
        if stored is None:
            raise factor_not_found(identity, sid)
        return stored

    def _factor(self, entity: Entity, raw: dict[str, str], binding: dict | None = None) -> Factor:
        return Factor(raw["sid"], entity, raw["fn"], raw["st"], raw["ty"], float(raw["ca"]), float(raw["ua"]),
                      self.types[raw["ty"]].config(raw), binding)


