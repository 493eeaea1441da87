"""Meter rules: one meter per event_name in a mode; a currency made for a meter that names
none; filter and aggregation frozen once events of the meter's name are stored (usage and
credits already drawn were computed with them); inactive meters keep their history."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from drawdown.currencies import service as currencies
from drawdown.currencies import store as currency_store
from drawdown.currencies.schemas import CurrencyCreate
from drawdown.errors import ConflictError, NotFoundError, ValidationFailed, field
from drawdown.ids import new_id, parse_id, render_id
from drawdown.meters import store
from drawdown.meters.schemas import AggregationOut, MeterCreate, MeterOut, MeterUpdate
from drawdown.money import MAX_DECIMALS, AmountError, units_from_decimal
from drawdown.paging import PageRequest, Slice
from drawdown.records import MeterRecord
from drawdown.rollups import service as rollups
from drawdown.tenancy import Tenant
from drawdown.webhooks.outbox import OutboxEvent, emit

__all__ = [
    "DEFAULT_CURRENCY_DECIMALS",
    "auto_currency_decimals",
    "create_meter",
    "get_meter",
    "meters_page",
    "render",
    "set_status",
    "update_meter",
]

# A currency made for a meter has at least cents, and as many places as the rate has, so
# that count usage (rate per event) and sum usage of whole numbers price exactly.
DEFAULT_CURRENCY_DECIMALS = 2


def auto_currency_decimals(rate: str) -> int:
    exponent = Decimal(rate).normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return min(MAX_DECIMALS, max(DEFAULT_CURRENCY_DECIMALS, places))


def render(row: MeterRecord) -> MeterOut:
    return MeterOut(
        id=render_id("meter", row.id),
        name=row.name,
        event_name=row.event_name,
        filter=row.filter,
        aggregation=AggregationOut(func=row.aggregation_func, property=row.aggregation_property),
        unit=row.unit,
        description=row.description,
        metadata=row.metadata_,
        currency_id=render_id("currency", row.currency_id),
        rate=row.rate,
        status=row.status,
        livemode=row.mode == "live",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _taken(event_name: str) -> ConflictError:
    return ConflictError(
        f"A meter for event_name {event_name!r} already exists", code="event_name_taken"
    )


def _currency_for(conn: Connection, tenant: Tenant, body: MeterCreate, now: datetime) -> uuid.UUID:
    if body.currency_id is not None:
        parsed = parse_id("currency", body.currency_id)
        row = None if parsed is None else currency_store.get_by_id(conn, tenant, parsed)
        if row is None:
            raise field("currency_id", f"no currency {body.currency_id}")
        return row.id
    made = CurrencyCreate(
        name=body.name[:100],
        symbol=(body.unit or "credits")[:16],
        decimals=auto_currency_decimals(str(body.rate)),
    )
    return currencies.create_currency(conn, tenant, made, now).id


def _check_rate_fits(rate: str, decimals: int) -> None:
    """One unit of usage must price to a storable amount in the meter's currency."""
    try:
        units_from_decimal(Decimal(rate), decimals)
    except (AmountError, InvalidOperation):
        raise field("rate", "is too large for the currency's decimals") from None


def _stored(conn: Connection, tenant: Tenant, meter_id: uuid.UUID) -> MeterRecord:
    row = store.get_by_id(conn, tenant, meter_id)
    assert row is not None, "written in this transaction"
    return row


def _decimals(conn: Connection, tenant: Tenant, currency_id: uuid.UUID) -> int:
    currency = currency_store.get_by_id(conn, tenant, currency_id)
    assert currency is not None, "a meter's currency is the tenant's"
    return currency.decimals


def create_meter(conn: Connection, tenant: Tenant, body: MeterCreate, now: datetime) -> MeterRecord:
    if store.get_by_event_name(conn, tenant, body.event_name) is not None:
        raise _taken(body.event_name)
    currency_id = _currency_for(conn, tenant, body, now)
    _check_rate_fits(str(body.rate), _decimals(conn, tenant, currency_id))
    meter_id = new_id()
    values = {
        "id": meter_id,
        "organization_id": tenant.organization_id,
        "mode": tenant.mode,
        "name": body.name,
        "event_name": body.event_name,
        "filter": None if body.filter is None else body.filter.model_dump(),
        "aggregation_func": body.aggregation.func,
        "aggregation_property": body.aggregation.property,
        "unit": body.unit,
        "description": body.description,
        "metadata_": body.metadata,
        "currency_id": currency_id,
        "rate": str(body.rate),
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }
    try:
        with conn.begin_nested():
            store.insert_meter(conn, values)
    except IntegrityError:
        # A concurrent request created a meter for the same event_name.
        raise _taken(body.event_name) from None
    # Events of this name may already be stored (ingest keeps events no meter counts).
    rollups.start_backfill(conn, tenant, meter_id, body.event_name, now)
    created = _stored(conn, tenant, meter_id)
    _emit(conn, tenant, "meter.created", created, now)
    return created


def _emit(conn: Connection, tenant: Tenant, type_: str, row: Any, now: datetime) -> None:
    emit(conn, tenant, OutboxEvent(type_, render(row).model_dump(mode="json"), now))


def meters_page(
    conn: Connection,
    tenant: Tenant,
    page: PageRequest,
    *,
    event_name: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Slice[MeterRecord]:
    """One page of the tenant's meters; ``status`` is filtered in the query."""
    return store.meters_page(conn, tenant, page, event_name=event_name, status=status, q=q)


def get_meter(conn: Connection, tenant: Tenant, id_or_event_name: str) -> MeterRecord:
    """By id (``mtr_...``) first, else by event_name."""
    parsed = parse_id("meter", id_or_event_name)
    row = None if parsed is None else store.get_by_id(conn, tenant, parsed)
    if row is None:
        row = store.get_by_event_name(conn, tenant, id_or_event_name)
    if row is None:
        raise NotFoundError(f"No meter {id_or_event_name}")
    return row


def _frozen_changes(
    conn: Connection, tenant: Tenant, row: MeterRecord, changes: dict[str, Any]
) -> None:
    errors = []
    if "filter" in changes and changes["filter"] != row.filter:
        errors.append("filter")
    aggregation = changes.get("aggregation")
    if aggregation is not None and (aggregation["func"], aggregation["property"]) != (
        row.aggregation_func,
        row.aggregation_property,
    ):
        errors.append("aggregation")
    if errors and store.events_exist(conn, tenant, row.event_name):
        msg = "cannot change once events of this meter's event_name are stored"
        raise ValidationFailed([([name], msg) for name in errors])


def update_meter(
    conn: Connection, tenant: Tenant, row: Any, body: MeterUpdate, now: datetime
) -> Any:
    # Full dumps of the fields sent (exclude_unset would drop defaults inside them).
    full = body.model_dump()
    changes = {name: full[name] for name in body.model_fields_set}
    for name in ("name", "unit", "description", "metadata", "rate", "aggregation"):
        if name in changes and changes[name] is None:
            raise field(name, "cannot be null")
    _frozen_changes(conn, tenant, row, changes)
    if "rate" in changes:
        _check_rate_fits(changes["rate"], _decimals(conn, tenant, row.currency_id))
    values: dict[str, Any] = {}
    for name in ("name", "unit", "description", "rate", "filter"):
        if name in changes:
            values[name] = changes[name]
    if "metadata" in changes:
        values["metadata_"] = changes["metadata"]
    if "aggregation" in changes:
        values["aggregation_func"] = changes["aggregation"]["func"]
        values["aggregation_property"] = changes["aggregation"]["property"]
    if values:
        store.update_meter(conn, tenant, row.id, {**values, "updated_at": now})
    if "filter" in values or "aggregation_func" in values:
        rollups.start_backfill(conn, tenant, row.id, row.event_name, now)
    updated = _stored(conn, tenant, row.id)
    if values:
        _emit(conn, tenant, "meter.updated", updated, now)
    return updated


def set_status(
    conn: Connection, tenant: Tenant, row: MeterRecord, status: str, now: datetime
) -> MeterRecord:
    if row.status == status:
        return row
    store.update_meter(conn, tenant, row.id, {"status": status, "updated_at": now})
    updated = _stored(conn, tenant, row.id)
    _emit(conn, tenant, "meter.updated", updated, now)
    return updated
