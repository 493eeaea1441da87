"""The flows that span domains, composed in one place above them, so that customers,
events, meters and credits never import each other in a loop.

- ingest: events validates, prices and stores a batch; credits draws the stored consuming
  events down, in the same transaction (uncovered usage becomes debt, never a refusal;
  duplicates change nothing; accounts locked in one order);
- a customer that gets an external id (created with one, or given one later) claims the
  events already stored under it, and credits draws those down now.

The HTTP layers (native api.py files and the dialects) call these; the domains do not."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.clock import utcnow
from drawdown.config import DEFAULT_EXPIRY_GRACE, Settings
from drawdown.consumption import Usage
from drawdown.credits.closing import close_customer_credits
from drawdown.credits.drawdown import apply_usage
from drawdown.customers import service as customers
from drawdown.customers.schemas import CustomerCreate, CustomerUpdate
from drawdown.errors import ValidationFailed
from drawdown.events import service as events
from drawdown.events.schemas import IngestResult
from drawdown.ops import metrics
from drawdown.records import CustomerRecord
from drawdown.tenancy import Tenant

__all__ = [
    "claim_customer_events",
    "create_customer",
    "delete_customer",
    "ingest",
    "ingest_event",
    "update_customer",
]


def ingest(
    conn: Connection, tenant: Tenant, raw_events: Sequence[Any], settings: Settings, now: datetime
) -> IngestResult:
    """Validate and store a batch, then book its consuming events (one apply_usage call).
    Failures name ``events.<index>.<field>``."""
    try:
        stored = events.store_batch(conn, tenant, raw_events, settings, now)
    except ValidationFailed:
        metrics.count_rejected(len(raw_events))
        raise
    return _book(conn, tenant, stored, len(raw_events), settings, now)


def ingest_event(
    conn: Connection, tenant: Tenant, raw_event: Any, settings: Settings, now: datetime
) -> IngestResult:
    """:func:`ingest` for one event; failures name the event's own fields."""
    try:
        stored = events.store_event(conn, tenant, raw_event, settings, now)
    except ValidationFailed:
        metrics.count_rejected(1)
        raise
    return _book(conn, tenant, stored, 1, settings, now)


def _book(
    conn: Connection,
    tenant: Tenant,
    stored: tuple[IngestResult, list[Usage]],
    sent: int,
    settings: Settings,
    now: datetime,
) -> IngestResult:
    result, usages = stored
    if usages:
        started = time.perf_counter()
        apply_usage(conn, tenant, usages, now, settings.expiry_grace)
        metrics.DRAWDOWN_DURATION.observe(time.perf_counter() - started)
    metrics.count_ingest(result.inserted, result.duplicates, sent)
    return result


def claim_customer_events(
    conn: Connection, tenant: Tenant, customer: CustomerRecord, now: datetime
) -> int:
    """Events for an unknown external id are kept: the stored events of the customer's
    external id that no customer had
    become this customer's, and those that consume are drawn down now, in timestamp order.
    Returns how many events were claimed."""
    assert customer.external_id is not None
    claimed, usages = events.claim_events(conn, tenant, customer.id, customer.external_id)
    if usages:
        apply_usage(conn, tenant, usages, now)
    return claimed


def create_customer(
    conn: Connection, tenant: Tenant, body: CustomerCreate, now: datetime | None = None
) -> CustomerRecord:
    now = now or utcnow()
    row = customers.create_customer(conn, tenant, body, now)
    if row.external_id is not None:
        claim_customer_events(conn, tenant, row, now)
    return row


def update_customer(
    conn: Connection,
    tenant: Tenant,
    row: CustomerRecord,
    body: CustomerUpdate,
    now: datetime | None = None,
) -> CustomerRecord:
    now = now or utcnow()
    updated = customers.update_customer(conn, tenant, row, body, now)
    if row.external_id is None and updated.external_id is not None:
        claim_customer_events(conn, tenant, updated, now)
    return updated


def delete_customer(
    conn: Connection,
    tenant: Tenant,
    row: CustomerRecord,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> None:
    """Deleting a customer: its open grants are voided and its holds released (reason
    ``customer_deleted``), then it is soft-deleted: its history stays and its external_id
    is free again, so events sent for it later wait unclaimed as for any unknown customer."""
    close_customer_credits(conn, tenant, row.id, now, grace)
    customers.delete_customer(conn, row)
