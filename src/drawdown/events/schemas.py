from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from drawdown.schemas import CustomerId, Timestamp

__all__ = [
    "EventIn",
    "EventOut",
    "GroupedUsageBucket",
    "IngestRequest",
    "IngestResult",
    "UsageBucket",
    "UsageOut",
]

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class EventIn(BaseModel):
    """One event of an ingest batch (validated one by one, so every bad index is named)."""

    model_config = ConfigDict(extra="forbid")

    identifier: Identifier = Field(description="Idempotency key, unique per mode forever")
    name: Identifier
    customer_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    external_customer_id: Identifier | None = None
    timestamp: AwareDatetime | None = Field(
        default=None, description="When it happened (RFC 3339 with offset); default now"
    )
    properties: dict[str, Any] = Field(default_factory=dict)


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(description="Events: see EventIn; limits in docs/usage.md")


class IngestResult(BaseModel):
    inserted: int
    duplicates: int


class EventOut(BaseModel):
    object: Literal["event"] = "event"
    id: str
    identifier: str
    name: str
    customer_id: CustomerId | None
    external_customer_id: str | None
    timestamp: Timestamp
    ingested_at: Timestamp
    properties: dict[str, Any]
    livemode: bool


class UsageBucket(BaseModel):
    start: Timestamp
    end: Timestamp
    value: str | None


class GroupedUsageBucket(UsageBucket):
    group: Any


class UsageOut(BaseModel):
    object: Literal["meter_usage"] = "meter_usage"
    meter_id: str
    from_: Timestamp = Field(serialization_alias="from")
    to: Timestamp
    window: str
    timezone: str
    buckets: list[GroupedUsageBucket | UsageBucket]
    total: str | None
