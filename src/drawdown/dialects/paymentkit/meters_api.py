"""``/paymentkit/api/meters``: Payment Kit's meter routes over drawdown's meters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from drawdown.dialects.paymentkit import render, service
from drawdown.dialects.paymentkit.routing import (
    PageParam,
    PageSizeParam,
    PaymentKitRoute,
    ReadPk,
    WritePk,
)
from drawdown.dialects.paymentkit.schemas import MeterCreate, MeterUpdate, PkMeter, PkPage
from drawdown.meters import service as meters
from drawdown.meters import store as meters_store
from drawdown.paging import Numbered

__all__ = ["router"]

router = APIRouter(prefix="/paymentkit/api/meters", route_class=PaymentKitRoute)


@router.post("", response_model=PkMeter)
def create_meter(body: MeterCreate, ctx: WritePk) -> PkMeter:
    with ctx.database.write() as conn:
        row = service.create_meter(conn, ctx.tenant, body, ctx.clock.now())
        return service.render_meter(conn, ctx.tenant, row)


@router.get("", response_model=PkPage)
def list_meters(
    ctx: ReadPk,
    page: PageParam = 1,
    page_size: PageSizeParam = 20,
    event_name: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[str | None, Query(max_length=255)] = None,
) -> PkPage:
    wanted = Numbered(page, page_size)
    with ctx.database.read() as conn:
        found = meters_store.meters_page(conn, ctx.tenant, wanted, event_name=event_name, q=q)
        cache: dict[object, object] = {}
        items = [service.render_meter(conn, ctx.tenant, row, cache) for row in found.items]
    return render.page(items, found.total or 0, page, page_size)


@router.get("/{id_or_event_name}", response_model=PkMeter)
def retrieve_meter(id_or_event_name: str, ctx: ReadPk) -> PkMeter:
    with ctx.database.read() as conn:
        row = meters.get_meter(conn, ctx.tenant, id_or_event_name)
        return service.render_meter(conn, ctx.tenant, row)


@router.put("/{id_or_event_name}", response_model=PkMeter)
def update_meter(id_or_event_name: str, body: MeterUpdate, ctx: WritePk) -> PkMeter:
    with ctx.database.write() as conn:
        row = service.update_meter(conn, ctx.tenant, id_or_event_name, body, ctx.clock.now())
        return service.render_meter(conn, ctx.tenant, row)


def _set_status(ref: str, ctx: WritePk, status: str) -> PkMeter:
    with ctx.database.write() as conn:
        row = meters.get_meter(conn, ctx.tenant, ref)
        row = meters.set_status(conn, ctx.tenant, row, status, ctx.clock.now())
        return service.render_meter(conn, ctx.tenant, row)


@router.put("/{id_or_event_name}/activate", response_model=PkMeter)
def activate_meter(id_or_event_name: str, ctx: WritePk) -> PkMeter:
    return _set_status(id_or_event_name, ctx, "active")


@router.put("/{id_or_event_name}/deactivate", response_model=PkMeter)
def deactivate_meter(id_or_event_name: str, ctx: WritePk) -> PkMeter:
    return _set_status(id_or_event_name, ctx, "inactive")
