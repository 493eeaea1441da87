"""Request and response models of top-up rules and top-ups."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from drawdown.schemas import Amount, Instant, Metadata, Timestamp

__all__ = [
    "GrantTemplate",
    "LimitsIn",
    "LimitsOut",
    "RuleCreate",
    "RuleOut",
    "RuleUpdate",
    "TopupConfirm",
    "TopupCreate",
    "TopupFail",
    "TopupOut",
]

Trigger = Literal["threshold", "schedule"]
Interval = Literal["day", "week", "month", "quarter", "semiannual", "year"]
Method = Literal["fixed", "target"]
Settlement = Literal["auto", "external"]
TopupStatus = Literal["pending", "succeeded", "failed", "canceled", "expired"]
TopupReason = Literal["threshold", "schedule", "manual"]
MAX_SECONDS = 30 * 24 * 3600
Name = Annotated[str, StringConstraints(max_length=255)]


class GrantTemplate(BaseModel):
    """What the grant a top-up makes looks like."""

    model_config = ConfigDict(extra="forbid")

    category: Literal["paid", "promotional"] = "paid"
    priority: int = Field(default=50, ge=0, le=100, description="Lower is drawn first")
    expires_after: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="ISO 8601 duration from the grant, e.g. P90D; null: never"
    )
    name: Name = ""
    metadata: Metadata = Field(default_factory=dict)


class LimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_day: int | None = Field(
        default=None, ge=1, le=10_000, description="Top-ups in any 24 hours"
    )
    max_amount_per_day: Amount | None = Field(
        default=None, description="Credits topped up (pending or succeeded) in any 24 hours"
    )
    cooldown_s: int = Field(default=0, ge=0, le=MAX_SECONDS, description="After the last one")
    decline_backoff_s: int = Field(
        default=3600, ge=0, le=MAX_SECONDS, description="After a failed or expired one"
    )


class RuleCreate(BaseModel):
    """Per customer (under /v1/customers/...) or organization-wide (POST /v1/topup-rules)."""

    model_config = ConfigDict(extra="forbid")

    currency_id: str | None = Field(default=None, description="Give this or meter_id")
    meter_id: str | None = Field(default=None, description="The meter's currency")
    name: Name = ""
    enabled: StrictBool = True
    trigger: Trigger
    threshold: Amount | None = Field(
        default=None, description="threshold: fires when available + pending is at or below"
    )
    interval: Interval | None = Field(default=None, description="schedule: one run a period")
    anchor_at: Instant | None = Field(
        default=None, description="schedule: when the first period starts (default: now)"
    )
    method: Method = "fixed"
    amount: Amount | None = Field(default=None, description="fixed: tops up multiples of this")
    target_balance: Amount | None = Field(default=None, description="target: tops up to this")
    settlement: Settlement = Field(
        default="auto", description="auto: granted at once; external: waits for confirm"
    )
    grant_template: GrantTemplate = Field(default_factory=GrantTemplate)
    limits: LimitsIn = Field(default_factory=LimitsIn)
    pending_ttl_s: int | None = Field(
        default=None, ge=60, le=MAX_SECONDS, description="Default: the server's setting"
    )


class RuleUpdate(BaseModel):
    """Only the fields sent change; the rule is checked again as a whole."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    enabled: StrictBool | None = None
    threshold: Amount | None = None
    method: Method | None = None
    amount: Amount | None = None
    target_balance: Amount | None = None
    settlement: Settlement | None = None
    grant_template: GrantTemplate | None = None
    limits: LimitsIn | None = None
    pending_ttl_s: int | None = Field(default=None, ge=60, le=MAX_SECONDS)


class LimitsOut(BaseModel):
    max_per_day: int | None
    max_amount_per_day: str | None
    cooldown_s: int
    decline_backoff_s: int


class RuleOut(BaseModel):
    object: Literal["topup_rule"] = "topup_rule"
    id: str
    customer_id: str | None = Field(description="Null for an organization-wide default")
    currency_id: str
    name: str
    enabled: bool
    trigger: Trigger
    threshold: str | None
    interval: Interval | None
    anchor_at: Timestamp | None
    next_run_at: Timestamp | None = Field(description="schedule: the next period's start")
    method: Method
    amount: str | None
    target_balance: str | None
    settlement: Settlement
    grant_template: GrantTemplate
    limits: LimitsOut
    pending_ttl_s: int | None
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp


class TopupCreate(BaseModel):
    """A manual top-up."""

    model_config = ConfigDict(extra="forbid")

    currency_id: str | None = Field(default=None, description="Give this or meter_id")
    meter_id: str | None = Field(default=None, description="The meter's currency")
    amount: Amount
    settlement: Settlement = "auto"
    grant_template: GrantTemplate = Field(default_factory=GrantTemplate)
    metadata: Metadata = Field(default_factory=dict)


class TopupConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_reference: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = (
        Field(default=None, description="Your charge's id, e.g. a payment intent")
    )


class TopupFail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class TopupOut(BaseModel):
    object: Literal["topup"] = "topup"
    id: str
    rule_id: str | None
    customer_id: str
    currency_id: str
    amount: str
    status: TopupStatus = Field(description="As read now: a pending one past expires_at is expired")
    reason: TopupReason
    settlement: Settlement
    grant_id: str | None
    external_reference: str | None
    failure_reason: str | None
    period_start: Timestamp | None
    metadata: dict[str, str | int | float | bool]
    livemode: bool
    created_at: Timestamp
    settled_at: Timestamp | None
    expires_at: Timestamp | None
