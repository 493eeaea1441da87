"""Meter events in Payment Kit's terms, over drawdown's ingest.

Payment Kit stores a meter event as ``pending`` and consumes credits later in a queue; the
shortfall stays on the event as ``credit_pending`` until a new grant pays it. drawdown
ingests and draws credits down in the same transaction, so the event comes back already
processed: ``completed`` when credits covered it, ``requires_action`` while part of it is
debt. Debt is paid oldest first when credits arrive, so an event's ``credit_pending`` is the
part of its own debt that the account's remaining debt still covers, newest events last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from drawdown import flows
from drawdown.clock import to_micros
from drawdown.config import Settings
from drawdown.credits import read
from drawdown.currencies import service as currencies
from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.credits_service import lookups
from drawdown.dialects.paymentkit.customers import is_customer_id
from drawdown.dialects.paymentkit.schemas import MeterEventCreate, PkMeterEvent
from drawdown.dialects.paymentkit.service import VALUE_PROPERTY
from drawdown.dialects.paymentkit.wire import iso_ms, unix_s
from drawdown.errors import ConflictError, NotFoundError, ValidationFailed, request_field
from drawdown.events import service as events
from drawdown.events import store as events_store
from drawdown.events.pricing import price, priced_meters
from drawdown.meters import service as meters
from drawdown.meters import store as meters_store
from drawdown.money import AmountError, parse_amount
from drawdown.paging import Numbered, Slice
from drawdown.records import EventRecord, MeterRecord
from drawdown.tenancy import Tenant

__all__ = ["create_event", "events_page", "get_event", "render_events"]

# The Payment Kit field each native event field comes from.
_FIELDS: dict[str, list[str | int]] = {
    "name": ["event_name"],
    "identifier": ["identifier"],
    "customer_id": ["payload", "customer_id"],
    "external_customer_id": ["payload", "customer_id"],
    "timestamp": ["timestamp"],
    "properties": ["payload"],
}


def _json_number(value: Decimal) -> int | float:
    """Event properties hold JSON numbers; refuse a value a double cannot hold exactly."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise request_field(["body", "payload", "value"], "has too many significant digits")
    return number


def _properties(body: MeterEventCreate, decimals: int) -> dict[str, Any]:
    try:
        units = parse_amount(body.payload.value, decimals, allow_negative=True)
    except AmountError as exc:
        raise request_field(["body", "payload", "value"], str(exc)) from None
    props: dict[str, Any] = {VALUE_PROPERTY: _json_number(Decimal(units).scaleb(-decimals))}
    if body.payload.subscription_id is not None:
        props["subscription_id"] = body.payload.subscription_id
    if body.metadata is not None:
        props["metadata"] = body.metadata
    if body.source_data is not None:
        props["source_data"] = body.source_data
    return props


def _translated(exc: ValidationFailed) -> ValidationFailed:
    """The native event's failures named by the meter event's fields."""
    errors = []
    for loc, msg in exc.errors:
        name = str(loc[0]) if loc else ""
        where = _FIELDS.get(name, []) + [p for p in loc[1:] if p != VALUE_PROPERTY]
        errors.append((where, msg))
    return ValidationFailed(errors)


def create_event(
    conn: Connection, tenant: Tenant, body: MeterEventCreate, settings: Settings, now: datetime
) -> Any:
    meter = meters_store.get_by_event_name(conn, tenant, body.event_name)
    if meter is None:
        raise NotFoundError(f"No meter for event_name {body.event_name!r}", code="meter_not_found")
    decimals = currencies.get_currency(conn, tenant, f"cur_{meter.currency_id.hex}").decimals
    ref = body.payload.customer_id
    raw: dict[str, Any] = {
        "identifier": body.identifier,
        "name": body.event_name,
        "customer_id" if is_customer_id(ref) else "external_customer_id": ref,
        "properties": _properties(body, decimals),
    }
    if body.timestamp is not None:
        raw["timestamp"] = datetime.fromtimestamp(body.timestamp, tz=now.tzinfo)
    try:
        result = flows.ingest_event(conn, tenant, raw, settings, now)
    except ValidationFailed as exc:
        raise _translated(exc) from None
    if result.duplicates:
        raise ConflictError(
            f"A meter event with identifier {body.identifier!r} already exists",
            code="duplicate_identifier",
        )
    event_id = events_store.id_by_identifier(conn, tenant, body.identifier)
    assert event_id is not None
    return get_event(conn, tenant, f"evt_{event_id.hex}")


def get_event(conn: Connection, tenant: Tenant, ref: str) -> Any:
    """An event that some meter measures (Payment Kit has no other kind)."""
    row = events.get_event(conn, tenant, ref)
    if meters_store.get_by_event_name(conn, tenant, row.name) is None:
        raise NotFoundError(f"No meter event {ref}")
    return row


def _render_one(row: EventRecord, ctx: dict[str, Any]) -> PkMeterEvent:
    out = events.render(row)
    meter = ctx["meters"][row.name]
    outcome = ctx["outcomes"].get(row.id)
    consumed = 0 if outcome is None else outcome.consumed
    if row.customer_id is None:
        # Reported for a DID no customer has yet: kept, drawn down when it appears.
        status, pending = "pending", _priced(meter, row, ctx)
    else:
        # Debt a later grant paid counts as consumed too (outcome.consumed), just later.
        pending = 0 if outcome is None else outcome.pending
        status = "requires_action" if pending else "completed"
    props = dict(out.properties)
    value = props.get(VALUE_PROPERTY)
    payload: dict[str, Any] = {
        "customer_id": out.external_customer_id or out.customer_id,
        "value": "0" if value is None else format(Decimal(repr(value)).normalize(), "f"),
    }
    if "subscription_id" in props:
        payload["subscription_id"] = props["subscription_id"]
    ingested = iso_ms(out.ingested_at)
    look = ctx["look"]
    return PkMeterEvent(
        id=out.id,
        event_name=out.name,
        payload=payload,
        identifier=out.identifier,
        timestamp=unix_s(out.timestamp) or 0,
        livemode=out.livemode,
        status=status,
        processed_at=None if status == "pending" else unix_s(out.ingested_at),
        attempt_count=0,
        next_attempt=None,
        credit_consumed=str(consumed),
        credit_pending=str(pending),
        metadata=props.get("metadata"),
        source_data=props.get("source_data"),
        created_by=None,
        created_via="api",
        created_at=ingested,
        updated_at=ingested,
        customer=None if row.customer_id is None else look.customer(row.customer_id),
        meter=render.plain_meter(meters.render(meter)),
        paymentCurrency=look.currency(meter.currency_id)[1],
    )


def _priced(meter: MeterRecord, row: EventRecord, ctx: dict[str, Any]) -> int:
    priced = ctx["priced"].get(meter.event_name)
    if priced is None:
        return 0
    return max(0, int(price(priced, row.name, to_micros(row.timestamp), row.properties)))


def render_events(
    conn: Connection, tenant: Tenant, rows: Sequence[Any], now: datetime
) -> list[PkMeterEvent]:
    names = {row.name for row in rows}
    ctx = {
        "meters": meters_store.by_event_names(conn, tenant, names),
        "priced": priced_meters(meters_store.meters_for_names(conn, tenant, names)),
        "outcomes": read.event_outcomes(conn, tenant, [row.id for row in rows], now),
        "look": lookups(conn, tenant, {r.customer_id for r in rows if r.customer_id}),
    }
    return [_render_one(row, ctx) for row in rows]


def events_page(conn: Connection, tenant: Tenant, page: Numbered, **filters: Any) -> Slice[Any]:
    """A page of the events some meter measures (Payment Kit has no other kind)."""
    wanted = events_store.EventFilter(measured=True, **filters)
    return events_store.events_page(conn, tenant, wanted, page)
