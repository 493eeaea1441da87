"""The capture flow (a hold resolves once; capture draws at most what was held): ingest the usage
event as batch ingest does (same dedup, validation and pricing), then resolve the hold and draw
the event down, in the caller's one transaction. It spans events and credits, so it lives above
both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from drawdown.config import Settings
from drawdown.credits import holds
from drawdown.credits.holds import HoldResult
from drawdown.credits.schemas import HoldCapture
from drawdown.errors import ConflictError, ValidationFailed
from drawdown.events.service import store_event
from drawdown.ids import render_id
from drawdown.tenancy import Tenant

__all__ = ["capture"]


def capture(
    conn: Connection,
    tenant: Tenant,
    settings: Settings,
    hold_ref: str,
    body: HoldCapture,
    now: datetime,
) -> HoldResult:
    row = holds.get_hold(conn, tenant, hold_ref)
    event: dict[str, Any] = body.event.model_dump(exclude_none=True)
    event["customer_id"] = render_id("customer", row.customer_id)
    try:
        result, usages = store_event(conn, tenant, event, settings, now)
    except ValidationFailed as exc:
        exc.within("event")  # the capture's field that holds the event
        raise
    if result.duplicates:
        raise ConflictError(
            f"An event with identifier {body.event.identifier!r} is already stored",
            code="duplicate_event",
        )
    usage = usages[0] if usages else None
    return holds.capture_hold(
        conn,
        tenant,
        row,
        usage,
        body.amount,
        body.allow_overage,
        now,
        settings.expiry_grace,
    )
