"""The operations on entities: create, read, list, choose the default factor, delete."""
from __future__ import annotations

import re
import time

from .. import errors, sids
from ..errors import VerifyError
from ..services import Services
from ..store.methods import MethodStore
from .model import Entity

IDENTITY = re.compile(r"[A-Za-z0-9-]{8,64}")


def valid_identity(identity: str) -> bool:
    return bool(IDENTITY.fullmatch(identity or ""))


def require_identity(identity: str) -> None:
    if not valid_identity(identity):
        raise errors.invalid("Invalid parameter `Identity`: 8 to 64 letters, digits and dashes (an immutable "
                             "identifier of your user that is not personal data, such as a UUID).")


def entity_not_found(service_sid: str, identity: str) -> VerifyError:
    return errors.not_found(f"The requested resource /Services/{service_sid}/Entities/{identity} was not found")


class Entities:
    def __init__(self, store: MethodStore, services: Services):
        self.store = store
        self.services = services

    def create(self, service_sid: str, identity: str) -> Entity:
        require_identity(identity)
        self.services.get(service_sid)
        if not self.store.create_entity(service_sid, identity, sids.new_sid(sids.ENTITY), time.time()):
            raise VerifyError(errors.ENTITY_EXISTS, f"An Entity with Identity {identity} already exists in "
                              f"service {service_sid}.", 409)
        return self.get(service_sid, identity)

    def get(self, service_sid: str, identity: str) -> Entity:
        raw = self.store.entity(service_sid, identity) if valid_identity(identity) else None
        if raw is None:
            raise entity_not_found(service_sid, identity)
        return Entity.from_hash(service_sid, identity, raw)

    def list(self, service_sid: str, offset: int, limit: int) -> list[Entity]:
        return [Entity.from_hash(service_sid, identity, raw)
                for identity, raw in self.store.entities(service_sid, offset, limit)]

    def set_default_factor(self, service_sid: str, identity: str, factor_sid: str) -> Entity:
        """telverify's: make a verified factor of the entity its default."""
        self.get(service_sid, identity)
        if not sids.is_sid(factor_sid, sids.FACTOR):
            raise errors.invalid("Invalid parameter `DefaultFactorSid`: a factor's sid (YF followed by 32 hex digits).")
        outcome = self.store.set_default_factor(service_sid, identity, factor_sid, time.time())
        if outcome == "no_entity":
            raise entity_not_found(service_sid, identity)
        if outcome == "no_factor":
            raise errors.not_found(f"Factor {factor_sid} is not a factor of entity {identity}.")
        if outcome == "unverified":
            raise VerifyError(errors.FACTOR_UNVERIFIED, f"Factor {factor_sid} is not verified yet: only a verified "
                              "factor can be the default.", 403)
        return self.get(service_sid, identity)

    def delete(self, service_sid: str, identity: str) -> None:
        """The entity goes with its factors and challenges, in one step."""
        if not (valid_identity(identity) and self.store.delete_entity(service_sid, identity)):
            raise entity_not_found(service_sid, identity)

    def forget_service(self, service_sid: str) -> None:
        """Delete every entity of a service that was deleted."""
        self.store.forget_service(service_sid)
