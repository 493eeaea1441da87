"""Typed results of the top-ups API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from drawdown.sdk.models import _Object

__all__ = ["Topup", "TopupRule"]


class TopupRule(_Object):
    """A rule that tops a customer's credits up on a ``threshold`` or a ``schedule``
    (``customer_id`` None: an organization-wide default)."""

    object: str = "topup_rule"
    customer_id: str | None = None
    currency_id: str
    name: str = ""
    enabled: bool
    trigger: str
    threshold: Decimal | None = None
    interval: str | None = None
    anchor_at: datetime | None = None
    next_run_at: datetime | None = None
    method: str
    amount: Decimal | None = None
    target_balance: Decimal | None = None
    settlement: str
    grant_template: dict[str, Any] = Field(default_factory=dict)
    limits: dict[str, Any] = Field(default_factory=dict)
    pending_ttl_s: int | None = None
    livemode: bool
    created_at: datetime
    updated_at: datetime


class Topup(_Object):
    """A top-up (``status``: pending, succeeded, failed, canceled or expired)."""

    object: str = "topup"
    rule_id: str | None = None
    customer_id: str
    currency_id: str
    amount: Decimal
    status: str
    reason: str
    settlement: str
    grant_id: str | None = None
    external_reference: str | None = None
    failure_reason: str | None = None
    period_start: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    livemode: bool
    created_at: datetime
    settled_at: datetime | None = None
    expires_at: datetime | None = None
