"""Request and response models of balance alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from drawdown.schemas import CustomerId, Timestamp

__all__ = ["AlertCreate", "AlertOut", "AlertUpdate", "ThresholdIn", "ThresholdOut"]

MAX_THRESHOLDS = 20
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Amount = Annotated[str, StringConstraints(min_length=1, max_length=64)]
BalanceType = Literal["available", "ledger"]
Notify = Literal["triggered", "resolved"]


def _triggered_only() -> list[Notify]:
    return ["triggered"]


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    value: Amount = Field(description="Fires when the balance is at or below this (decimal)")
    notify_on: list[Notify] = Field(
        default_factory=_triggered_only,
        description="Add 'resolved' to get credit.balance_recovered when it re-arms",
        min_length=1,
    )


class AlertCreate(BaseModel):
    """Per customer (under /v1/customers/...) or organization-wide (POST /v1/alerts)."""

    model_config = ConfigDict(extra="forbid")

    currency_id: str | None = Field(default=None, description="Give this or meter_id")
    meter_id: str | None = Field(default=None, description="The meter's currency")
    name: Annotated[str, StringConstraints(max_length=255)] = ""
    balance_type: BalanceType = "available"
    thresholds: list[ThresholdIn] = Field(min_length=1, max_length=MAX_THRESHOLDS)
    rearm_margin: Amount = Field(
        default="0", description="Re-arms only above threshold + this (hysteresis)"
    )
    enabled: StrictBool = True


class AlertUpdate(BaseModel):
    """Only the fields sent change. Changing thresholds, margin or balance type forgets the
    alert's state; it is seeded again, without firing, on the next balance move."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(max_length=255)] | None = None
    balance_type: BalanceType | None = None
    thresholds: list[ThresholdIn] | None = Field(
        default=None, min_length=1, max_length=MAX_THRESHOLDS
    )
    rearm_margin: Amount | None = None
    enabled: StrictBool | None = None


class ThresholdOut(BaseModel):
    code: str
    value: str
    notify_on: list[str]
    # For a customer's view: ok or in_alarm; null until the balance first moves.
    state: Literal["ok", "in_alarm"] | None = None
    since: Timestamp | None = None


class AlertOut(BaseModel):
    object: Literal["balance_alert"] = "balance_alert"
    id: str
    customer_id: CustomerId | None = Field(description="Null for an organization-wide default")
    currency_id: str
    name: str
    balance_type: str
    thresholds: list[ThresholdOut]
    rearm_margin: str
    enabled: bool
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp
