"""The operator's read side of events: filtered pages (by customer, meter, name, time) and
ingest counts, over the same store queries and meter filters as the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.events import store
from drawdown.http.pagination import Page, cursor, page_of
from drawdown.records import EventRecord
from drawdown.tenancy import Tenant

__all__ = [
    "EventFilter",
    "IngestCounts",
    "count_ingested_since",
    "events_page",
    "ingest_counts",
    "window_start",
]


@dataclass(frozen=True, slots=True)
class EventFilter:
    customer_id: uuid.UUID | None = None
    external_customer_id: str | None = None
    name: str | None = None
    meter: Any = None  # a meter row: the events it counts
    time_from: datetime | None = None
    time_to: datetime | None = None


def events_page(
    conn: Connection,
    tenant: Tenant,
    wanted: EventFilter,
    *,
    limit: int,
    starting_after: str | None,
) -> Page[EventRecord]:
    """Newest first, as the API lists them (render them with ``events.service.render``)."""
    meter = None if wanted.meter is None else (wanted.meter.event_name, wanted.meter.filter)
    filters = store.EventFilter(
        customer_id=wanted.customer_id,
        external_customer_id=wanted.external_customer_id,
        name=wanted.name,
        time_from=wanted.time_from,
        time_to=wanted.time_to,
        meter=meter,
    )
    page = cursor("event", limit, starting_after, limit)
    return page_of(store.events_page(conn, tenant, filters, page), lambda row: row)


def count_ingested_since(conn: Connection, tenant: Tenant, since: datetime) -> int:
    return store.count_ingested_since(conn, tenant, since)


@dataclass(frozen=True, slots=True)
class IngestCounts:
    since: datetime
    events: int
    duplicates: int


def window_start(now: datetime, span: timedelta) -> datetime:
    """The start of the last ``span`` in whole minutes, the current minute included: the
    minutes duplicates are counted in, so both counts cover the same time exactly."""
    return store.duplicate_bucket(now) - span + store.DUPLICATE_BUCKET


def ingest_counts(conn: Connection, tenant: Tenant, now: datetime, span: timedelta) -> IngestCounts:
    """Events stored, and duplicates seen, by the batches ingested in the last ``span``."""
    since = window_start(now, span)
    return IngestCounts(
        since,
        store.count_ingested_since(conn, tenant, since),
        store.count_duplicates_since(conn, tenant, since),
    )
