from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from drawdown.events import usage
from drawdown.events.schemas import UsageOut
from drawdown.events.usage import usage_query
from drawdown.events.windows import Window
from drawdown.http.deps import ReadCtx, WriteCtx
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.http.pagination import DEFAULT_LIMIT, LimitParam, Page, StartingAfterParam, paginate
from drawdown.meters import service, store
from drawdown.meters.schemas import MeterCreate, MeterOut, MeterUpdate
from drawdown.schemas import QueryInstant

__all__ = ["router"]

router = APIRouter(prefix="/v1/meters", tags=["meters"])


@router.post("", status_code=201, response_model=MeterOut)
def create_meter(
    body: MeterCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    return run_create(
        ctx,
        idempotency_key,
        "POST /v1/meters",
        body,
        lambda conn: service.render(service.create_meter(conn, ctx.tenant, body, ctx.clock.now())),
    )


@router.get("", response_model=Page[MeterOut])
def list_meters(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    event_name: Annotated[str | None, Query(max_length=255)] = None,
    status: Literal["active", "inactive"] | None = None,
    q: Annotated[str | None, Query(max_length=255, description="Search name/event_name")] = None,
) -> Page[MeterOut]:
    with ctx.database.read() as conn:
        return paginate(
            conn,
            store.list_query(ctx.tenant, event_name=event_name, status=status, q=q),
            store.c.id,
            kind="meter",
            limit=limit,
            max_limit=ctx.settings.max_page_limit,
            starting_after=starting_after,
            render=service.render,
        )


@router.get("/{meter}", response_model=MeterOut)
def get_meter(meter: str, ctx: ReadCtx) -> MeterOut:
    """A meter by id or by event_name."""
    with ctx.database.read() as conn:
        return service.render(service.get_meter(conn, ctx.tenant, meter))


@router.get("/{meter}/usage", response_model=UsageOut, response_model_by_alias=True)
def meter_usage(
    meter: str,
    ctx: ReadCtx,
    time_from: Annotated[QueryInstant, Query(alias="from", description="Inclusive (RFC 3339)")],
    time_to: Annotated[QueryInstant, Query(alias="to", description="Exclusive (RFC 3339)")],
    window: Window = "day",
    timezone: Annotated[str, Query(max_length=64, description="IANA name")] = "UTC",
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    group_by: Annotated[
        str | None, Query(max_length=255, description="customer, or a property path")
    ] = None,
) -> Response:
    """The meter's usage in [from, to): buckets per window in the timezone, and a total.
    docs/usage.md says what each aggregation means across windows."""
    with ctx.database.read() as conn:
        row = service.get_meter(conn, ctx.tenant, meter)
        query = usage_query(
            ctx.tenant, row, time_from, time_to, window, timezone, customer_id, group_by
        )
        out = usage.report(conn, query)
    return Response(out.model_dump_json(by_alias=True), media_type="application/json")


@router.patch("/{meter}", response_model=MeterOut)
def update_meter(meter: str, body: MeterUpdate, ctx: WriteCtx) -> MeterOut:
    with ctx.database.write() as conn:
        row = service.get_meter(conn, ctx.tenant, meter)
        return service.render(service.update_meter(conn, ctx.tenant, row, body, ctx.clock.now()))


@router.post("/{meter}/activate", response_model=MeterOut)
def activate_meter(meter: str, ctx: WriteCtx) -> MeterOut:
    with ctx.database.write() as conn:
        row = service.get_meter(conn, ctx.tenant, meter)
        return service.render(service.set_status(conn, ctx.tenant, row, "active", ctx.clock.now()))


@router.post("/{meter}/deactivate", response_model=MeterOut)
def deactivate_meter(meter: str, ctx: WriteCtx) -> MeterOut:
    with ctx.database.write() as conn:
        row = service.get_meter(conn, ctx.tenant, meter)
        return service.render(
            service.set_status(conn, ctx.tenant, row, "inactive", ctx.clock.now())
        )
