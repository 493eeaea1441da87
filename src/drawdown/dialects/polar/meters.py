"""Polar's meters API over drawdown.meters (and drawdown.events for quantities).

A Polar meter is one drawdown meter: its filter's top-level ``name eq X`` clause is the
meter's event_name and the other clauses its filter (see translate.split_filter)."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown.customers import service as customers
from drawdown.dialects.polar.customers import reject_organization_id
from drawdown.dialects.polar.errors import PolarRoute
from drawdown.dialects.polar.pagination import (
    ListResource,
    NoMetadataFilter,
    PageParam,
    PerPageParam,
    SortingParam,
    numbered,
    resource,
)
from drawdown.dialects.polar.schemas import (
    MeterCreate,
    MeterOut,
    MeterQuantities,
    MeterQuantity,
    MeterUpdate,
)
from drawdown.dialects.polar.translate import (
    Interval,
    aggregation_in,
    meter_out,
    native_model,
    next_period,
    period_start,
    split_filter,
    unit_in,
)
from drawdown.errors import NotFoundError, ValidationFailed, request_field
from drawdown.events import usage
from drawdown.http.deps import ReadCtx, RequestContext, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.ids import render_id
from drawdown.meters import schemas as native
from drawdown.meters import service, store
from drawdown.schemas import QueryTime

__all__ = ["router"]

router = APIRouter(prefix="/polar/v1/meters", tags=["polar"], route_class=PolarRoute)


def _create(conn: Connection, ctx: RequestContext, body: MeterCreate) -> MeterOut:
    event_name, native_filter = split_filter(body.filter, ["body", "filter"])
    data: dict[str, Any] = {
        "name": body.name,
        "event_name": event_name,
        "filter": native_filter,
        "aggregation": aggregation_in(body.aggregation),
        "unit": unit_in(body.unit, body.custom_label, ["body", "unit"]),
        "metadata": body.metadata or {},
    }
    with fields_in("body"):
        created = service.create_meter(
            conn, ctx.tenant, native_model(native.MeterCreate, data, ["body"]), ctx.clock.now()
        )
    return meter_out(created)


def _changes(row: Any, body: MeterUpdate) -> dict[str, Any]:
    """The native update of a Polar update: the fields sent, translated."""
    sent = body.model_fields_set
    data: dict[str, Any] = {}
    if "name" in sent:
        data["name"] = body.name
    if "metadata" in sent:
        data["metadata"] = body.metadata or {}
    if "unit" in sent and body.unit is not None:
        data["unit"] = unit_in(body.unit, body.custom_label, ["body", "unit"])
    if "aggregation" in sent and body.aggregation is not None:
        data["aggregation"] = aggregation_in(body.aggregation)
    if "filter" in sent and body.filter is not None:
        event_name, data["filter"] = split_filter(body.filter, ["body", "filter"])
        if event_name != row.event_name:
            msg = f"a meter's event name cannot change (this meter counts {row.event_name!r})"
            raise ValidationFailed([(["body", "filter"], msg)], placed=True)
    return data


def _update(conn: Connection, ctx: RequestContext, id: str, body: MeterUpdate) -> MeterOut:
    now = ctx.clock.now()
    row = service.get_meter(conn, ctx.tenant, id)
    changes = _changes(row, body)
    if changes:
        update = native_model(native.MeterUpdate, changes, ["body"])
        with fields_in("body"):
            row = service.update_meter(conn, ctx.tenant, row, update, now)
    if body.is_archived is not None:
        status = "inactive" if body.is_archived else "active"
        row = service.set_status(conn, ctx.tenant, row, status, now)
    return meter_out(row)


@router.post("/", status_code=201, response_model=MeterOut, summary="Create Meter")
def create_meter(
    body: MeterCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    reject_organization_id(body.organization_id, ["body", "organization_id"])
    return run_create(
        ctx, idempotency_key, "POST /polar/v1/meters/", body, lambda conn: _create(conn, ctx, body)
    )


@router.get(
    "/",
    response_model=ListResource[MeterOut],
    summary="List Meters",
    dependencies=[NoMetadataFilter],
)
def list_meters(
    ctx: ReadCtx,
    query: Annotated[str | None, Query(max_length=255)] = None,
    is_archived: bool | None = None,
    page: PageParam = 1,
    limit: PerPageParam = 10,
    sorting: SortingParam = None,
) -> ListResource[MeterOut]:
    wanted = numbered(sorting, store.SORT_FIELDS, ["name"], page, limit)
    status = None if is_archived is None else ("inactive" if is_archived else "active")
    with ctx.database.read() as conn:
        found = store.meters_page(conn, ctx.tenant, wanted, status=status, q=query)
    return resource(found, meter_out, limit)


@router.get("/{id}", response_model=MeterOut, summary="Get Meter")
def get_meter(id: str, ctx: ReadCtx) -> MeterOut:
    with ctx.database.read() as conn:
        return meter_out(service.get_meter(conn, ctx.tenant, id))


@router.patch("/{id}", response_model=MeterOut, summary="Update Meter")
def update_meter(id: str, body: MeterUpdate, ctx: WriteCtx) -> MeterOut:
    with ctx.database.write() as conn:
        return _update(conn, ctx, id, body)


MultiParam = Annotated[list[str] | None, Query()]
MAX_YEARS = 100


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise request_field(["query", "timezone"], f"unknown IANA timezone {name!r}") from None


def _one_customer(
    conn: Connection, ctx: RequestContext, ids: list[str], external_ids: list[str]
) -> str | None:
    """The native id of the one customer the quantities are filtered by, if any. drawdown's
    usage filters by one customer, and by one that exists."""
    if len(ids) + len(external_ids) > 1:
        raise request_field(["query", "customer_id"], "drawdown filters quantities by one customer")
    if ids:
        try:
            return render_id("customer", customers.get_customer(conn, ctx.tenant, ids[0]).id)
        except NotFoundError:
            raise request_field(["query", "customer_id", 0], "Customer not found.") from None
    if external_ids:
        try:
            row = customers.get_customer_by_external_id(conn, ctx.tenant, external_ids[0])
        except NotFoundError:
            raise request_field(
                ["query", "external_customer_id", 0], "Customer not found."
            ) from None
        return render_id("customer", row.id)
    return None


def _value(text: str | None) -> float:
    # Polar reports an empty period (and a min/max/avg over nothing) as 0.
    return float(Decimal(text)) if text is not None else 0.0


def _yearly(
    conn: Connection,
    ctx: RequestContext,
    meter: Any,
    span: list[datetime],
    tz: str,
    customer: str | None,
) -> MeterQuantities:
    """drawdown's usage has no year window: one whole-range query per year."""
    quantities = []
    for start, end in itertools.pairwise(span):
        q = usage.usage_query(ctx.tenant, meter, start, end, "none", tz, customer, None)
        quantities.append(
            MeterQuantity(timestamp=start, quantity=_value(usage.report(conn, q).total))
        )
    q = usage.usage_query(ctx.tenant, meter, span[0], span[-1], "none", tz, customer, None)
    return MeterQuantities(quantities=quantities, total=_value(usage.report(conn, q).total))


@router.get(
    "/{id}/quantities",
    response_model=MeterQuantities,
    summary="Get Meter Quantities",
    dependencies=[NoMetadataFilter],
)
def meter_quantities(
    id: str,
    ctx: ReadCtx,
    start_timestamp: QueryTime,
    end_timestamp: QueryTime,
    interval: Interval,
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
    customer_id: MultiParam = None,
    external_customer_id: MultiParam = None,
    customer_aggregation_function: str | None = None,
) -> MeterQuantities:
    """One quantity per period of ``interval`` (in ``timezone``) from the period holding
    ``start_timestamp`` to the one holding ``end_timestamp``, each over its whole period,
    as Polar computes them; ``total`` is the meter's aggregation over all those periods."""
    if customer_aggregation_function is not None:
        raise request_field(
            ["query", "customer_aggregation_function"], "is not supported by drawdown"
        )
    for loc, value in (("start_timestamp", start_timestamp), ("end_timestamp", end_timestamp)):
        if value.tzinfo is None:
            raise request_field(["query", loc], "needs a timezone offset (e.g. Z)")
    tz = _zone(timezone)
    first = period_start(start_timestamp, interval, tz)
    last = next_period(period_start(end_timestamp, interval, tz), interval, tz)
    with fields_in("query"), ctx.database.read() as conn:
        meter = service.get_meter(conn, ctx.tenant, id)
        customer = _one_customer(conn, ctx, customer_id or [], external_customer_id or [])
        if interval == "year":
            span = [first]
            while span[-1] < last:
                span.append(next_period(span[-1], interval, tz))
                if len(span) > MAX_YEARS + 1:
                    raise request_field(["query", "interval"], f"gives more than {MAX_YEARS} years")
            return _yearly(conn, ctx, meter, span, timezone, customer)
        q = usage.usage_query(ctx.tenant, meter, first, last, interval, timezone, customer, None)
        out = usage.report(conn, q)
    quantities = [MeterQuantity(timestamp=b.start, quantity=_value(b.value)) for b in out.buckets]
    return MeterQuantities(quantities=quantities, total=_value(out.total))
