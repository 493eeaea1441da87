"""Who is asking: the organization and mode every query is scoped to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

__all__ = ["MODES", "SCOPES", "Access", "Mode", "Principal", "Scope", "Tenant"]

Mode = Literal["live", "test"]
Scope = Literal["full", "ingest", "read"]
# What an endpoint needs: reading, ingesting usage, or changing anything else.
Access = Literal["read", "ingest", "write"]

MODES: tuple[Mode, ...] = ("live", "test")
SCOPES: tuple[Scope, ...] = ("full", "ingest", "read")

_ALLOWED: dict[Scope, frozenset[str]] = {
    "full": frozenset({"read", "ingest", "write"}),
    "ingest": frozenset({"read", "ingest"}),
    "read": frozenset({"read"}),
}


@dataclass(frozen=True, slots=True)
class Tenant:
    organization_id: uuid.UUID
    mode: Mode

    @property
    def livemode(self) -> bool:
        return self.mode == "live"


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: Tenant
    scope: Scope
    key_id: uuid.UUID

    def allows(self, access: Access) -> bool:
        return access in _ALLOWED[self.scope]
