"""What the credits store returns: typed, immutable records of its rows.

Amounts are integer base units; ``decimals`` is the currency's, joined in by the store so a
record can be rendered without another query."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drawdown.tenancy import Mode, Tenant

__all__ = ["AccountKey", "AccountRecord", "EntryRecord", "GrantRecord"]

# (customer_id, currency_id)
AccountKey = tuple[uuid.UUID, uuid.UUID]


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: Mode
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    balance: int
    debt: int
    last_sequence: int
    decimals: int = 0

    @property
    def key(self) -> AccountKey:
        return (self.customer_id, self.currency_id)

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.organization_id, self.mode)

    @classmethod
    def of(cls, row: Any) -> AccountRecord:
        m = row._mapping
        return cls(
            m["id"],
            m["organization_id"],
            m["mode"],
            m["customer_id"],
            m["currency_id"],
            m["balance"],
            m["debt"],
            m["last_sequence"],
            m.get("decimals", 0),
        )


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A grant as stored (its status is the one last booked: read models project it to
    an instant with the clock, see drawdown.credits.read)."""

    id: uuid.UUID
    mode: Mode
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    account_id: uuid.UUID
    amount: int
    remaining: int
    category: str
    priority: int
    effective_at: datetime
    expires_at: datetime | None
    status: str
    booked_at: datetime | None
    closed_at: datetime | None
    name: str
    metadata: dict[str, Any]
    source_event_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    decimals: int

    @classmethod
    def of(cls, row: Any) -> GrantRecord:
        m = row._mapping
        return cls(
            m["id"],
            m["mode"],
            m["customer_id"],
            m["currency_id"],
            m["account_id"],
            m["amount"],
            m["remaining"],
            m["category"],
            m["priority"],
            m["effective_at"],
            m["expires_at"],
            m["status"],
            m["booked_at"],
            m["closed_at"],
            m["name"],
            m["metadata_"],
            m["source_event_id"],
            m["created_at"],
            m["updated_at"],
            m["decimals"],
        )


@dataclass(frozen=True, slots=True)
class EntryRecord:
    id: uuid.UUID
    mode: Mode
    account_id: uuid.UUID
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    sequence: int
    type: str
    amount: int
    balance_after: int
    grant_id: uuid.UUID | None
    event_id: uuid.UUID | None
    created_at: datetime
    decimals: int
    reason: str | None = None

    @classmethod
    def of(cls, row: Any) -> EntryRecord:
        m = row._mapping
        return cls(
            m["id"],
            m["mode"],
            m["account_id"],
            m["customer_id"],
            m["currency_id"],
            m["sequence"],
            m["type"],
            m["amount"],
            m["balance_after"],
            m["grant_id"],
            m["event_id"],
            m["created_at"],
            m["decimals"],
            m["reason"],
        )
