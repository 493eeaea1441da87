from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from drawdown.schemas import Amount, CustomerId, Instant, Metadata, Timestamp

__all__ = [
    "AccessOut",
    "BalanceList",
    "BalanceOut",
    "GrantCreate",
    "GrantOut",
    "HoldCapture",
    "HoldCreate",
    "HoldEvent",
    "HoldOut",
    "HoldRelease",
    "LedgerEntryOut",
]

GrantStatus = Literal["pending", "active", "depleted", "expired", "voided"]
EntryType = Literal[
    "grant", "consumption", "debt", "settlement", "debt_settled", "expiration", "void"
]


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = None
    external_customer_id: str | None = None
    currency_id: str | None = Field(default=None, description="Or give meter_id")
    meter_id: str | None = Field(default=None, description="Grant in this meter's currency")
    amount: Amount
    category: Literal["paid", "promotional"] = "paid"
    priority: int = Field(default=50, ge=0, le=100, description="Lower is drawn first")
    effective_at: Instant | None = Field(default=None, description="Default: now")
    expires_at: Instant | None = Field(default=None, description="Default: never")
    name: Annotated[str, StringConstraints(max_length=255)] = ""
    metadata: Metadata = Field(default_factory=dict)


class GrantOut(BaseModel):
    object: Literal["credit_grant"] = "credit_grant"
    id: str
    customer_id: CustomerId
    currency_id: str
    amount: str
    remaining: str
    category: str
    priority: int
    effective_at: Timestamp
    expires_at: Timestamp | None
    status: GrantStatus
    name: str
    metadata: dict[str, str | int | float | bool]
    source_event_id: str | None
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp


class LedgerEntryOut(BaseModel):
    object: Literal["credit_transaction"] = "credit_transaction"
    id: str
    customer_id: CustomerId
    currency_id: str
    sequence: int
    type: EntryType
    amount: str
    balance_after: str
    grant_id: str | None
    event_id: str | None
    reason: str | None = Field(
        default=None, description="Why, when the type does not say (customer_deleted)"
    )
    livemode: bool
    created_at: Timestamp


class BalanceOut(BaseModel):
    object: Literal["balance"] = "balance"
    currency_id: str
    available: str = Field(description="Credits that can be drawn now")
    debt: str = Field(description="Usage not covered by any grant, paid by the next grant")
    held: str = Field(default="0", description="Reserved by active holds (not available)")
    pending: str = Field(description="Credits of grants that are not effective yet")
    next_expiry_at: Timestamp | None
    next_expiry_amount: str | None


class BalanceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BalanceOut]
    has_more: bool = False


class AccessOut(BaseModel):
    object: Literal["access"] = "access"
    customer_id: CustomerId
    meter_id: str
    currency_id: str
    has_access: bool
    available: str
    debt: str
    held: str = Field(default="0", description="Reserved by active holds (not available)")


# -- holds ---------------------------------------------------------------------------------

HoldStatus = Literal["active", "captured", "released", "expired"]
MAX_HOLD_TIMEOUT_S = 86_400


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = None
    external_customer_id: str | None = None
    currency_id: str | None = Field(default=None, description="Or give meter_id")
    meter_id: str | None = Field(default=None, description="Hold in this meter's currency")
    amount: Amount = Field(description="The most the work may cost")
    min_amount: Amount | None = Field(
        default=None,
        description="Accept a partial hold down to this (default: amount, all or nothing)",
    )
    timeout_s: int = Field(
        default=300, ge=1, le=MAX_HOLD_TIMEOUT_S, description="Seconds until it expires"
    )
    metadata: Metadata = Field(default_factory=dict)


class HoldEvent(BaseModel):
    """The usage event a capture ingests, for the hold's customer, as batch ingest takes it
    (without a customer field: it is the hold's)."""

    model_config = ConfigDict(extra="forbid")

    identifier: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    timestamp: Instant | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class HoldCapture(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount | None = Field(
        default=None,
        description="What the event costs (default: its price); at most the amount held",
    )
    event: HoldEvent
    allow_overage: StrictBool = Field(
        default=False, description="Draw a cost above the amount held (into debt if need be)"
    )


class HoldRelease(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(max_length=255)] | None = None


class HoldOut(BaseModel):
    object: Literal["hold"] = "hold"
    id: str
    customer_id: CustomerId
    currency_id: str
    status: HoldStatus
    amount: str = Field(description="Reserved (at most requested, at least min_amount)")
    requested: str
    min_amount: str
    captured_amount: str | None
    debt_incurred: str = Field(description="Captured cost the grants could not cover")
    event_id: str | None
    reason: str | None
    timeout_s: int
    expires_at: Timestamp
    resolved_at: Timestamp | None
    available_after: str | None = Field(
        default=None, description="The available balance right after this call (writes only)"
    )
    metadata: dict[str, str | int | float | bool]
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp
