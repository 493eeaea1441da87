"""The typed, immutable records the stores of customers, currencies, meters and events
return (credits has its own, drawdown.credits.records). Field names are the column names,
so a record reads like the row it was made from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from drawdown.tenancy import Mode

__all__ = ["CurrencyRecord", "CustomerRecord", "EventRecord", "MeterRecord", "from_row"]

R = TypeVar("R", bound="DataclassInstance")


def from_row(cls: type[R], row: Any) -> R:
    """A record of ``cls`` from a result row holding (at least) its fields."""
    mapping = row._mapping
    names = [f.name for f in fields(cls)]
    return cls(**{name: mapping[name] for name in names if name in mapping})


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: Mode
    external_id: str | None
    email: str | None
    name: str | None
    metadata_: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class CurrencyRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: Mode
    name: str
    symbol: str
    decimals: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MeterRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: Mode
    name: str
    event_name: str
    filter: dict[str, Any] | None
    aggregation_func: str
    aggregation_property: str | None
    unit: str
    description: str
    metadata_: dict[str, Any]
    currency_id: uuid.UUID
    # Credits per unit, an exact decimal as text.
    rate: str
    status: str
    created_at: datetime
    updated_at: datetime
    # The currency's, when the store joined it in (pricing needs it).
    decimals: int | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: Mode
    identifier: str
    name: str
    customer_id: uuid.UUID | None
    external_customer_id: str | None
    timestamp: datetime
    ingested_at: datetime
    properties: dict[str, Any]
