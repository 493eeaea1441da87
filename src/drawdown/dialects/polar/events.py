"""Polar's events API over drawdown.events.

Polar's ``external_id`` is drawdown's ``identifier`` (the dedup key) and ``metadata`` its
``properties``. An event sent without ``external_id`` gets a fresh identifier, so, as in
Polar, it is never a duplicate."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import ValidationError
from sqlalchemy import Connection

from drawdown import flows
from drawdown.customers import store as customer_store
from drawdown.dialects.polar.errors import PolarRoute
from drawdown.dialects.polar.pagination import (
    ListResource,
    NoMetadataFilter,
    PageParam,
    PerPageParam,
    SortingParam,
    list_resource,
    numbered,
)
from drawdown.dialects.polar.schemas import (
    EventCreate,
    EventCreateCustomer,
    EventOut,
    EventsIngest,
    EventsIngestResponse,
    Filter,
)
from drawdown.dialects.polar.translate import event_out, filter_in
from drawdown.errors import FieldError, ValidationFailed, request_field
from drawdown.events import service, store
from drawdown.http.deps import IngestCtx, ReadCtx, RequestContext
from drawdown.http.fields import fields_in
from drawdown.http.ratelimit import charge_events
from drawdown.ids import parse_id
from drawdown.meters import service as meters
from drawdown.schemas import QueryTime
from drawdown.tenancy import Tenant

__all__ = ["AUTO_IDENTIFIER_PREFIX", "router"]

router = APIRouter(prefix="/polar/v1/events", tags=["polar"], route_class=PolarRoute)

# Identifier of an event sent without external_id: unique, so never a duplicate.
AUTO_IDENTIFIER_PREFIX = "polar-auto-"
_UNSUPPORTED = ("parent_id", "member_id", "external_member_id")


def _native_event(index: int, event: EventCreate, errors: list[FieldError]) -> dict[str, Any]:
    loc: list[str | int] = ["body", "events", index]
    if event.organization_id is not None:
        msg = "Setting organization_id is disallowed when using an organization token."
        errors.append(([*loc, "organization_id"], msg))
    for name in _UNSUPPORTED:
        if getattr(event, name, None) is not None:
            errors.append(([*loc, name], f"{name} is not supported by drawdown"))
    native: dict[str, Any] = {
        "identifier": event.external_id or f"{AUTO_IDENTIFIER_PREFIX}{uuid.uuid4()}",
        "name": event.name,
        "properties": event.metadata,
    }
    if event.timestamp is not None:
        native["timestamp"] = event.timestamp
    if isinstance(event, EventCreateCustomer):
        native["customer_id"] = event.customer_id
    else:
        native["external_customer_id"] = event.external_customer_id
    return native


@router.post("/ingest", response_model=EventsIngestResponse, summary="Ingest Events")
def ingest_events(body: EventsIngest, ctx: IngestCtx) -> EventsIngestResponse:
    """All or nothing, as in Polar: any invalid event rejects the batch with a 422."""
    errors: list[FieldError] = []
    native = [_native_event(i, event, errors) for i, event in enumerate(body.events)]
    if errors:
        raise ValidationFailed(errors, placed=True)
    charge_events(ctx, len(native))
    with fields_in("body"), ctx.database.write() as conn:
        result = flows.ingest(conn, ctx.tenant, native, ctx.settings, ctx.clock.now())
    return EventsIngestResponse(inserted=result.inserted, duplicates=result.duplicates)


def _customers_by_id(conn: Connection, tenant: Tenant, rows: Sequence[Any]) -> dict[Any, Any]:
    ids = {row.customer_id for row in rows if row.customer_id is not None}
    return customer_store.by_ids(conn, tenant, ids)


def _uuids(values: list[str], loc: str) -> list[uuid.UUID]:
    parsed = [parse_id("customer", value) for value in values]
    bad = [i for i, value in enumerate(parsed) if value is None]
    if bad:
        raise ValidationFailed(
            [(["query", loc, i], "is not a valid UUID") for i in bad], placed=True
        )
    return [value for value in parsed if value is not None]


def _polar_filter(text: str) -> dict[str, Any]:
    try:
        polar_filter = Filter.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        raise request_field(
            ["query", "filter"], "must be a JSON filter {conjunction, clauses}"
        ) from None
    return filter_in(polar_filter, ["query", "filter"])


def _filters(
    conn: Connection,
    ctx: RequestContext,
    *,
    customer_ids: list[str],
    names: list[str],
    sources: Sequence[str],
    meter_id: str | None,
    filter_json: str | None,
    external_customer_id: str | None,
    time_from: datetime | None,
    time_to: datetime | None,
) -> store.EventFilter:
    meter = None
    if meter_id is not None:
        found = meters.get_meter(conn, ctx.tenant, meter_id)
        meter = (found.event_name, found.filter)
    return store.EventFilter(
        customer_ids=tuple(_uuids(customer_ids, "customer_id")) if customer_ids else None,
        external_customer_id=external_customer_id,
        names=tuple(names) if names else None,
        time_from=time_from,
        time_to=time_to,
        meter=meter,
        where=None if filter_json is None else _polar_filter(filter_json),
        nothing=bool(sources) and "user" not in sources,  # drawdown stores user events only
    )


MultiParam = Annotated[list[str] | None, Query()]


@router.get(
    "/",
    response_model=ListResource[EventOut],
    summary="List Events",
    dependencies=[NoMetadataFilter],
)
def list_events(
    ctx: ReadCtx,
    filter: Annotated[str | None, Query(description="A JSON filter, as a meter's")] = None,
    start_timestamp: QueryTime | None = None,
    end_timestamp: QueryTime | None = None,
    customer_id: MultiParam = None,
    external_customer_id: MultiParam = None,
    meter_id: str | None = None,
    name: MultiParam = None,
    source: Annotated[list[Literal["system", "user"]] | None, Query()] = None,
    query: str | None = None,
    parent_id: str | None = None,
    depth: int | None = None,
    page: PageParam = 1,
    limit: PerPageParam = 10,
    sorting: SortingParam = None,
) -> ListResource[EventOut]:
    """Newest first by default. ``start_timestamp`` is inclusive, ``end_timestamp``
    exclusive. drawdown filters by one ``external_customer_id`` at a time."""
    unsupported = {"query": query, "parent_id": parent_id, "depth": depth}
    refused = [param for param, sent in unsupported.items() if sent is not None]
    if refused:
        raise ValidationFailed(
            [(["query", p], "is not supported by drawdown") for p in refused], placed=True
        )
    wanted = numbered(sorting, store.SORT_FIELDS, ["-timestamp"], page, limit)
    externals = external_customer_id or []
    if len(externals) > 1:
        raise request_field(["query", "external_customer_id"], "drawdown accepts one value here")
    for loc, instant in (("start_timestamp", start_timestamp), ("end_timestamp", end_timestamp)):
        if instant is not None and instant.tzinfo is None:
            raise request_field(["query", loc], "needs a timezone offset (e.g. Z)")
    with ctx.database.read() as conn:
        filters = _filters(
            conn,
            ctx,
            customer_ids=customer_id or [],
            names=name or [],
            sources=source or [],
            meter_id=meter_id,
            filter_json=filter,
            external_customer_id=externals[0] if externals else None,
            time_from=start_timestamp,
            time_to=end_timestamp,
        )
        found = store.events_page(conn, ctx.tenant, filters, wanted)
        customers = _customers_by_id(conn, ctx.tenant, found.items)
    items = [event_out(row, customers.get(row.customer_id)) for row in found.items]
    return list_resource(items, found.total or 0, limit)


@router.get("/{id}", response_model=EventOut, summary="Get Event")
def get_event(id: str, ctx: ReadCtx) -> EventOut:
    with ctx.database.read() as conn:
        row = service.get_event(conn, ctx.tenant, id)
        customers = _customers_by_id(conn, ctx.tenant, [row])
    return event_out(row, customers.get(row.customer_id))
