"""Typed results: one pydantic model per API object.

Amounts are :class:`decimal.Decimal` (exact, parsed from the API's decimal strings), times
are aware :class:`datetime.datetime` in UTC. Models accept fields they do not know yet, so a
newer server never breaks an older client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Access",
    "Balance",
    "CreditGrant",
    "CreditTransaction",
    "Currency",
    "Customer",
    "Event",
    "Hold",
    "IngestResult",
    "IngestTotals",
    "Meter",
    "MeterAggregation",
    "MeterUsage",
    "Page",
    "UsageBucket",
]

MetadataValue = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class _Object(_Model):
    """An API object with an id (what lists are paginated by)."""

    id: str


T = TypeVar("T", bound=_Object)


class Page(_Model, Generic[T]):
    """One page of a list: ``data`` newest first; ``has_more`` tells whether another page
    follows (ask for it with ``starting_after=page.data[-1].id``)."""

    object: str = "list"
    data: list[T]
    has_more: bool


class Customer(_Object):
    object: str = "customer"
    external_id: str | None = None
    email: str | None = None
    name: str | None = None
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    livemode: bool
    created_at: datetime
    updated_at: datetime


class Currency(_Object):
    object: str = "currency"
    name: str
    symbol: str | None = None
    decimals: int
    livemode: bool
    created_at: datetime


class MeterAggregation(_Model):
    func: str
    property: str | None = None


class Meter(_Object):
    object: str = "meter"
    name: str
    event_name: str
    filter: Any = None
    aggregation: MeterAggregation
    unit: str | None = None
    description: str | None = None
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    currency_id: str | None = None
    rate: Decimal
    status: str
    livemode: bool
    created_at: datetime
    updated_at: datetime


class Event(_Object):
    object: str = "event"
    identifier: str
    name: str
    customer_id: str | None = None
    external_customer_id: str | None = None
    timestamp: datetime
    ingested_at: datetime
    properties: dict[str, Any] = Field(default_factory=dict)
    livemode: bool


class IngestResult(_Model):
    """One ingest request's outcome: events stored, and events already stored before."""

    inserted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class IngestTotals:
    """What :meth:`events.ingest_all` sent: every event was either inserted or a duplicate."""

    events: int = 0
    inserted: int = 0
    duplicates: int = 0
    batches: int = 0

    def plus(self, result: IngestResult, events: int) -> IngestTotals:
        return IngestTotals(
            self.events + events,
            self.inserted + result.inserted,
            self.duplicates + result.duplicates,
            self.batches + 1,
        )


class UsageBucket(_Model):
    start: datetime
    end: datetime
    # None for an empty bucket of min/max/avg/latest.
    value: Decimal | None = None
    group: Any = None


class MeterUsage(_Model):
    object: str = "meter_usage"
    meter_id: str
    from_: datetime = Field(alias="from")
    to: datetime
    window: str
    timezone: str
    buckets: list[UsageBucket]
    total: Decimal | None = None


class CreditGrant(_Object):
    object: str = "credit_grant"
    customer_id: str
    currency_id: str
    amount: Decimal
    remaining: Decimal
    category: str
    priority: int
    effective_at: datetime
    expires_at: datetime | None = None
    status: str
    name: str | None = None
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    source_event_id: str | None = None
    livemode: bool
    created_at: datetime
    updated_at: datetime


class CreditTransaction(_Object):
    """One ledger entry: a signed movement on a customer's account in one currency."""

    object: str = "credit_transaction"
    customer_id: str
    currency_id: str
    sequence: int
    type: str
    amount: Decimal
    balance_after: Decimal
    grant_id: str | None = None
    event_id: str | None = None
    reason: str | None = None
    created_at: datetime


class Balance(_Model):
    object: str = "balance"
    currency_id: str
    available: Decimal
    debt: Decimal
    held: Decimal = Decimal(0)
    pending: Decimal
    next_expiry_at: datetime | None = None
    next_expiry_amount: Decimal | None = None


class BalanceList(_Model):
    object: str = "list"
    data: list[Balance]
    has_more: bool = False


class Access(_Model):
    """Whether a customer may use a meter now (``has_access``), and why."""

    object: str = "access"
    customer_id: str
    meter_id: str
    currency_id: str | None = None
    has_access: bool
    available: Decimal
    debt: Decimal
    held: Decimal = Decimal(0)


class Hold(_Object):
    """A reservation of a customer's available credits (``status``: active, captured,
    released or expired). ``amount`` is what is reserved."""

    object: str = "hold"
    customer_id: str
    currency_id: str
    status: str
    amount: Decimal
    requested: Decimal
    min_amount: Decimal
    captured_amount: Decimal | None = None
    debt_incurred: Decimal = Decimal(0)
    event_id: str | None = None
    reason: str | None = None
    timeout_s: int
    expires_at: datetime
    resolved_at: datetime | None = None
    # The available balance right after the call that returned this hold (writes only).
    available_after: Decimal | None = None
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    livemode: bool
    created_at: datetime
    updated_at: datetime
