"""Typed results of the webhooks and alerts APIs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from drawdown.sdk.models import _Model, _Object

__all__ = [
    "AlertThreshold",
    "BalanceAlert",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookScheduled",
]


class WebhookEndpoint(_Object):
    object: str = "webhook_endpoint"
    url: str
    description: str = ""
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    previous_secret_expires_at: datetime | None = None
    # Only in the answers to create and rotate-secret.
    secret: str | None = None
    livemode: bool
    created_at: datetime
    updated_at: datetime


class WebhookEvent(_Object):
    object: str = "webhook_event"
    type: str
    timestamp: datetime
    data: dict[str, Any]
    livemode: bool


class WebhookDelivery(_Object):
    """One delivery attempt."""

    object: str = "webhook_delivery"
    event_id: str
    event_type: str
    endpoint_id: str
    attempt: int
    succeeded: bool
    http_code: int | None = None
    error: str | None = None
    response: str | None = None
    latency_us: int
    created_at: datetime


class WebhookScheduled(_Model):
    """How many deliveries a redeliver or replay call scheduled."""

    object: str
    scheduled: int


class AlertThreshold(_Model):
    code: str
    value: Decimal
    notify_on: list[str]
    state: str | None = None
    since: datetime | None = None


class BalanceAlert(_Object):
    object: str = "balance_alert"
    customer_id: str | None = None
    currency_id: str
    name: str = ""
    balance_type: str
    thresholds: list[AlertThreshold]
    rearm_margin: Decimal
    enabled: bool
    livemode: bool
    created_at: datetime
    updated_at: datetime
