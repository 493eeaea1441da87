from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from drawdown.http.deps import ReadCtx, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    cursor,
    page_of,
)
from drawdown.meters import service
from drawdown.meters.schemas import MeterCreate, MeterOut, MeterUpdate

__all__ = ["router"]

router = APIRouter(prefix="/v1/meters", tags=["meters"])


@router.post("", status_code=201, response_model=MeterOut)
def create_meter(
    body: MeterCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    with fields_in("body"):
        return run_create(
            ctx,
            idempotency_key,
            "POST /v1/meters",
            body,
            lambda conn: service.render(
                service.create_meter(conn, ctx.tenant, body, ctx.clock.now())
            ),
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
    page = cursor("meter", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        found = service.meters_page(
            conn, ctx.tenant, page, event_name=event_name, status=status, q=q
        )
    return page_of(found, service.render)


@router.get("/{meter}", response_model=MeterOut)
def get_meter(meter: str, ctx: ReadCtx) -> MeterOut:
    """A meter by id or by event_name."""
    with ctx.database.read() as conn:
        return service.render(service.get_meter(conn, ctx.tenant, meter))


@router.patch("/{meter}", response_model=MeterOut)
def update_meter(meter: str, body: MeterUpdate, ctx: WriteCtx) -> MeterOut:
    with fields_in("body"), ctx.database.write() as conn:
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
