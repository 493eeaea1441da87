"""Typed records the webhooks store returns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Attempt", "DeliveryView", "DueDelivery", "Endpoint", "OutboxEvent", "StoredEvent"]


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event to emit: its type, its ``data`` (JSON-ready: ids and decimal strings) and
    when it happened."""

    type: str
    data: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    dispatched_at: datetime | None


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: str
    url: str
    description: str
    event_types: list[str]
    metadata: dict[str, Any]
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    flavor: str
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime
    throttled_until: datetime | None = None

    def throttled_at(self, now: datetime) -> bool:
        return self.throttled_until is not None and now < self.throttled_until

    def subscribes(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        out = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            out.append(self.previous_secret)
        return out


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery claimed by a worker, with what it needs to make the attempt."""

    id: uuid.UUID
    attempts: int
    event: StoredEvent
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class Attempt:
    id: uuid.UUID
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    endpoint_id: uuid.UUID
    attempt: int
    succeeded: bool
    http_code: int | None
    error: str | None
    response: str | None
    latency_us: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One event's delivery to one endpoint, with its latest attempt (for the dashboard)."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str  # pending, succeeded or failed
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    last: Attempt | None
