"""Event rules: ingest (identifiers unique forever, a batch atomic, the time window, inactive
meters refused, unknown external customers kept), retrieval, and claiming the events
of an external customer once the customer exists.

Ingest is bulk: the whole batch is validated first (every bad index is reported and nothing
is stored), then one query resolves customers, one reads the meters of the batch's names,
and one multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING stores the new events and
tells duplicates apart. drawdown.flows then hands the consuming events to the credit engine,
once per batch, in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from drawdown.config import Settings
from drawdown.consumption import Usage
from drawdown.db.scope import lock_external_ids
from drawdown.db.types import to_micros
from drawdown.errors import FieldError, NotFoundError, ValidationFailed, field
from drawdown.events import store
from drawdown.events.limits import check_properties
from drawdown.events.pricing import (
    CREDIT_EXPIRES_AT,
    PricedMeter,
    credit_expiry,
    price,
    priced_meters,
    usage_for,
)
from drawdown.events.schemas import EventIn, EventOut, IngestResult
from drawdown.ids import new_id, parse_id, render_id
from drawdown.meters import store as meter_store
from drawdown.money import AmountError
from drawdown.records import EventRecord
from drawdown.rollups import service as rollups
from drawdown.tenancy import Tenant

__all__ = [
    "claim_events",
    "get_event",
    "render",
    "store_batch",
    "store_event",
]


def render(row: EventRecord) -> EventOut:
    return EventOut(
        id=render_id("event", row.id),
        identifier=row.identifier,
        name=row.name,
        customer_id=row.customer_id,
        external_customer_id=row.external_customer_id,
        timestamp=row.timestamp,
        ingested_at=row.ingested_at,
        properties=row.properties,
        livemode=row.mode == "live",
    )


def get_event(conn: Connection, tenant: Tenant, event_id: str) -> EventRecord:
    parsed = parse_id("event", event_id)
    row = None if parsed is None else store.get_by_id(conn, tenant, parsed)
    if row is None:
        raise NotFoundError(f"No event {event_id}")
    return row


@dataclass(slots=True)
class _Parsed:
    index: int
    event: EventIn
    timestamp: datetime
    customer_id: uuid.UUID | None


def _loc(index: int, *parts: str | int) -> list[str | int]:
    """Where a failure is while the batch is checked: the event's index, then its field."""
    return [index, *parts]


def _failure(errors: list[FieldError], batch: bool) -> ValidationFailed:
    """The batch's failures in event order: under ``events.<index>`` for a batch, or the
    event's own fields when one event was given."""
    ordered = sorted(errors, key=lambda e: int(e[0][0]))
    if batch:
        return ValidationFailed(ordered).within("events")
    return ValidationFailed([(loc[1:], msg) for loc, msg in ordered])


def _too_old(max_age_s: int) -> str:
    days = max_age_s / 86400
    age = f"{days:g} days" if days >= 1 else f"{max_age_s} seconds"
    return f"is older than {age}, the oldest accepted (DRAWDOWN_MAX_EVENT_AGE_S)"


def _parse_one(
    index: int, raw: Any, now: datetime, settings: Settings, errors: list[FieldError]
) -> _Parsed | None:
    try:
        event = EventIn.model_validate(raw)
    except ValidationError as exc:
        errors.extend((_loc(index, *err["loc"]), err["msg"]) for err in exc.errors())
        return None
    before = len(errors)
    timestamp = event.timestamp or now
    if timestamp < now - settings.max_event_age:
        errors.append((_loc(index, "timestamp"), _too_old(settings.max_event_age_s)))
    elif timestamp > now + settings.max_event_future:
        msg = (
            f"is more than {settings.max_event_future_s} seconds in the future "
            "(DRAWDOWN_MAX_EVENT_FUTURE_S)"
        )
        errors.append((_loc(index, "timestamp"), msg))
    if (event.customer_id is None) == (event.external_customer_id is None):
        msg = "give exactly one of customer_id and external_customer_id"
        errors.append((_loc(index, "customer_id"), msg))
    customer_id = None
    if event.customer_id is not None:
        customer_id = parse_id("customer", event.customer_id)
        if customer_id is None:
            errors.append((_loc(index, "customer_id"), f"no customer {event.customer_id}"))
    problem = check_properties(event.properties)
    if problem:
        errors.append((_loc(index, "properties"), problem))
    if len(errors) > before:
        return None
    return _Parsed(index, event, timestamp.astimezone(now.tzinfo), customer_id)


def _parse(
    raw_events: Sequence[Any], now: datetime, settings: Settings
) -> tuple[list[_Parsed], list[FieldError]]:
    errors: list[FieldError] = []
    parsed = [_parse_one(i, raw, now, settings, errors) for i, raw in enumerate(raw_events)]
    return [p for p in parsed if p is not None], errors


def _customers(
    conn: Connection, tenant: Tenant, parsed: list[_Parsed]
) -> tuple[set[uuid.UUID], dict[str, uuid.UUID]]:
    ids = {p.customer_id for p in parsed if p.customer_id is not None}
    external = {e for p in parsed if (e := p.event.external_customer_id) is not None}
    rows = store.resolve_customers(conn, tenant, ids, external)
    known_ids = {row.id for row in rows}
    by_external = {row.external_id: row.id for row in rows if row.external_id in external}
    unknown = external - set(by_external)
    if unknown:
        # Kept unclaimed until the customer exists: hold off a concurrent creation of these
        # customers until this batch commits, then look again in case one committed just before.
        lock_external_ids(conn, tenant, unknown)
        late = store.resolve_customers(conn, tenant, set(), unknown)
        by_external.update({row.external_id: row.id for row in late})
    return known_ids, by_external


def _check_event(
    p: _Parsed, meter: PricedMeter | None, known_ids: set[uuid.UUID], errors: list[FieldError]
) -> int:
    """Rules that need the database; the amount the event consumes."""
    if p.customer_id is not None and p.customer_id not in known_ids:
        errors.append((_loc(p.index, "customer_id"), f"no customer {p.event.customer_id}"))
    if meter is None:
        return 0
    if not meter.active:
        msg = f"meter {render_id('meter', meter.meter_id)} for {meter.event_name!r} is inactive"
        errors.append((_loc(p.index, "name"), msg))
        return 0
    props = p.event.properties
    try:
        amount = price(meter, p.event.name, to_micros(p.timestamp), props)
    except AmountError:
        errors.append((_loc(p.index, "properties"), "the usage this event prices is too large"))
        return 0
    if amount < 0:
        try:
            credit_expiry(props)
        except ValueError as exc:
            errors.append((_loc(p.index, "properties", CREDIT_EXPIRES_AT), str(exc)))
    return amount


def store_batch(
    conn: Connection, tenant: Tenant, raw_events: Sequence[Any], settings: Settings, now: datetime
) -> tuple[IngestResult, list[Usage]]:
    """Validate the whole batch, store its new events; the Usage of each stored event that
    an active sum or count meter consumes and whose customer is known, in batch order.
    Failures name ``events.<index>.<field>``."""
    if len(raw_events) > settings.max_batch_events:
        msg = f"at most {settings.max_batch_events} events per batch"
        raise field("events", msg)
    return _store(conn, tenant, raw_events, settings, now, batch=True)


def store_event(
    conn: Connection, tenant: Tenant, raw_event: Any, settings: Settings, now: datetime
) -> tuple[IngestResult, list[Usage]]:
    """One event, stored as a batch of one; failures name the event's own fields."""
    return _store(conn, tenant, [raw_event], settings, now, batch=False)


def _store(
    conn: Connection,
    tenant: Tenant,
    raw_events: Sequence[Any],
    settings: Settings,
    now: datetime,
    *,
    batch: bool,
) -> tuple[IngestResult, list[Usage]]:
    parsed, errors = _parse(raw_events, now, settings)
    rollups.lock_for_writing(conn, tenant)
    known_ids, by_external = _customers(conn, tenant, parsed)
    names = {p.event.name for p in parsed}
    meters = priced_meters(meter_store.meters_for_names(conn, tenant, names))
    amounts = [_check_event(p, meters.get(p.event.name), known_ids, errors) for p in parsed]
    if errors:
        raise _failure(errors, batch)
    rows, pending = _rows(tenant, parsed, amounts, by_external, now)
    inserted = store.insert_events(conn, rows)
    rollups.record(conn, tenant, meters, _facts(row for row in rows if row["id"] in inserted))
    usages = [
        usage_for(
            meters[p.event.name],
            row["id"],
            row["customer_id"],
            amount,
            p.timestamp,
            p.event.properties,
        )
        for row, p, amount in pending
        if row["id"] in inserted
    ]
    result = IngestResult(inserted=len(inserted), duplicates=len(raw_events) - len(inserted))
    if result.duplicates:
        # In the batch's transaction: counted once per try that commits, never for one that
        # fails; batches without duplicates pay nothing.
        store.add_duplicates(conn, tenant, now, result.duplicates)
    return result, usages


def _facts(rows: Iterable[dict[str, Any]]) -> Iterator[rollups.EventFacts]:
    for row in rows:
        yield rollups.EventFacts(
            row["name"],
            row["customer_id"],
            row["external_customer_id"],
            to_micros(row["timestamp"]),
            row["properties"],
        )


def _rows(
    tenant: Tenant,
    parsed: list[_Parsed],
    amounts: list[int],
    by_external: dict[str, uuid.UUID],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], _Parsed, int]]]:
    """Rows to insert (first occurrence of each identifier) and the consuming ones."""
    rows: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], _Parsed, int]] = []
    seen: set[str] = set()
    for p, amount in zip(parsed, amounts, strict=True):
        event = p.event
        if event.identifier in seen:
            continue
        seen.add(event.identifier)
        customer_id = p.customer_id
        if customer_id is None and event.external_customer_id is not None:
            customer_id = by_external.get(event.external_customer_id)
        row = {
            "id": new_id(),
            "organization_id": tenant.organization_id,
            "mode": tenant.mode,
            "identifier": event.identifier,
            "name": event.name,
            "customer_id": customer_id,
            "external_customer_id": event.external_customer_id,
            "timestamp": p.timestamp,
            "ingested_at": now,
            "properties": event.properties,
        }
        rows.append(row)
        if amount != 0 and customer_id is not None:
            pending.append((row, p, amount))
    return rows, pending


def claim_events(
    conn: Connection, tenant: Tenant, customer_id: uuid.UUID, external_id: str
) -> tuple[int, list[Usage]]:
    """Claim the events; how many, and the Usage of those that consume, by timestamp."""
    rollups.lock_for_writing(conn, tenant)
    claimed = store.claim_events(conn, tenant, customer_id, external_id)
    if not claimed:
        return 0, []
    meters = priced_meters(meter_store.meters_for_names(conn, tenant, {r.name for r in claimed}))
    facts = [
        rollups.EventFacts(r.name, customer_id, external_id, to_micros(r.timestamp), r.properties)
        for r in claimed
    ]
    rollups.claim(conn, tenant, external_id, meters, facts)
    usages: list[Usage] = []
    for row in sorted(claimed, key=lambda r: (r.timestamp, r.id)):
        meter = meters.get(row.name)
        if meter is None:
            continue
        try:
            amount = price(meter, row.name, to_micros(row.timestamp), row.properties)
        except AmountError:
            continue  # priced too large by a meter made after it was stored: consumes nothing
        if amount != 0:
            usages.append(_claimed_usage(meter, row, customer_id, amount))
    return len(claimed), usages


def _claimed_usage(meter: PricedMeter, row: Any, customer_id: uuid.UUID, amount: int) -> Usage:
    try:
        return usage_for(meter, row.id, customer_id, amount, row.timestamp, row.properties)
    except ValueError:
        # A malformed credit_expires_at on an event stored before its meter existed (so it
        # was never checked): the grant it makes does not expire rather than being lost.
        return Usage(row.id, customer_id, meter.currency_id, amount, row.timestamp, None)
