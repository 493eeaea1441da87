"""Polar's meters API over drawdown.meters (and drawdown.events for quantities).

A Polar meter is one drawdown meter: its filter's top-level ``name eq X`` clause is the
meter's event_name and the other clauses its filter (see translate.split_filter)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import Connection

from drawdown.db.tables import meters
from drawdown.dialects.polar.customers import reject_organization_id
from drawdown.dialects.polar.errors import PolarRoute
from drawdown.dialects.polar.pagination import (
    ListResource,
    PageParam,
    PerPageParam,
    SortingParam,
    order_by_sorting,
    page_of_query,
)
from drawdown.dialects.polar.schemas import MeterCreate, MeterOut, MeterUpdate
from drawdown.dialects.polar.translate import (
    aggregation_in,
    meter_out,
    native_model,
    split_filter,
    unit_in,
)
from drawdown.errors import ValidationFailed
from drawdown.http.deps import ReadCtx, RequestContext, WriteCtx
from drawdown.http.idempotency import run_create
from drawdown.meters import schemas as native
from drawdown.meters import service, store

__all__ = ["router"]

router = APIRouter(prefix="/polar/v1/meters", tags=["polar"], route_class=PolarRoute)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
_SORT_COLUMNS: dict[str, Any] = {"name": meters.c.name, "created_at": meters.c.id}


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
            raise ValidationFailed([(["body", "filter"], msg)])
    return data


def _update(conn: Connection, ctx: RequestContext, id: str, body: MeterUpdate) -> MeterOut:
    now = ctx.clock.now()
    row = service.get_meter(conn, ctx.tenant, id)
    changes = _changes(row, body)
    if changes:
        update = native_model(native.MeterUpdate, changes, ["body"])
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


@router.get("/", response_model=ListResource[MeterOut], summary="List Meters")
def list_meters(
    ctx: ReadCtx,
    query: Annotated[str | None, Query(max_length=255)] = None,
    is_archived: bool | None = None,
    page: PageParam = 1,
    limit: PerPageParam = 10,
    sorting: SortingParam = None,
) -> ListResource[MeterOut]:
    order_by = order_by_sorting(sorting, _SORT_COLUMNS, ["name"], meters.c.id)
    status = None if is_archived is None else ("inactive" if is_archived else "active")
    select = store.list_query(ctx.tenant, event_name=None, status=status, q=query)
    with ctx.database.read() as conn:
        return page_of_query(conn, select, order_by, page=page, limit=limit, render=meter_out)


@router.get("/{id}", response_model=MeterOut, summary="Get Meter")
def get_meter(id: str, ctx: ReadCtx) -> MeterOut:
    with ctx.database.read() as conn:
        return meter_out(service.get_meter(conn, ctx.tenant, id))


@router.patch("/{id}", response_model=MeterOut, summary="Update Meter")
def update_meter(id: str, body: MeterUpdate, ctx: WriteCtx) -> MeterOut:
    with ctx.database.write() as conn:
        return _update(conn, ctx, id, body)
