"""``/paymentkit/api/meter-events``: Payment Kit's meter event routes over drawdown's
ingest, events and balances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from drawdown.dialects.paymentkit import credits_service as grants
from drawdown.dialects.paymentkit import events_service as meter_events
from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.customers import find_customer, is_customer_id
from drawdown.dialects.paymentkit.routing import (
    IngestPk,
    PageParam,
    PageSizeParam,
    PaymentKitRoute,
    ReadPk,
)
from drawdown.dialects.paymentkit.schemas import MeterEventCreate, PkMeterEvent, PkPage, UnixSeconds
from drawdown.dialects.paymentkit.wire import from_unix
from drawdown.http.ratelimit import charge_events
from drawdown.meters import service as meters
from drawdown.paging import Numbered

__all__ = ["router"]

router = APIRouter(prefix="/paymentkit/api/meter-events", route_class=PaymentKitRoute)

Ref = Annotated[str | None, Query(max_length=255)]


@router.post("", response_model=PkMeterEvent)
def create_event(body: MeterEventCreate, ctx: IngestPk) -> PkMeterEvent:
    """Stored and drawn down before this returns: the answer shows the outcome."""
    charge_events(ctx, 1)
    now = ctx.clock.now()
    with ctx.database.write() as conn:
        row = meter_events.create_event(conn, ctx.tenant, body, ctx.settings, now)
        return meter_events.render_events(conn, ctx.tenant, [row], now)[0]


@router.get("", response_model=PkPage)
def list_events(
    ctx: ReadPk,
    page: PageParam = 1,
    page_size: PageSizeParam = 20,
    event_name: Ref = None,
    meter_id: Ref = None,
    customer_id: Ref = None,
    start: UnixSeconds | None = None,
    end: UnixSeconds | None = None,
) -> PkPage:
    with ctx.database.read() as conn:
        name = event_name
        if meter_id is not None:
            name = meters.get_meter(conn, ctx.tenant, meter_id).event_name
            if event_name is not None and event_name != name:
                return render.page([], 0, page, page_size)
        customer = None if customer_id is None else find_customer(conn, ctx.tenant, customer_id)
        if customer_id is not None and customer is None and is_customer_id(customer_id):
            return render.page([], 0, page, page_size)
        found = meter_events.events_page(
            conn,
            ctx.tenant,
            Numbered(page, page_size),
            customer_id=None if customer is None else customer.id,
            # A DID no customer has yet still finds the events reported under it.
            external_customer_id=customer_id if customer is None else None,
            name=name,
            time_from=None if start is None else from_unix(start),
            time_to=None if end is None else from_unix(end + 1),
        )
        items = meter_events.render_events(conn, ctx.tenant, found.items, ctx.clock.now())
    return render.page(items, found.total or 0, page, page_size)


@router.get("/pending-amount")
def pending_amount(
    ctx: ReadPk,
    customer_id: Ref = None,
    currency_id: Ref = None,
    subscription_id: Ref = None,
) -> dict[str, str]:
    """Usage not yet paid for by credits, in base units per currency id."""
    with ctx.database.read() as conn:
        customer = None
        if customer_id is not None:
            customer = find_customer(conn, ctx.tenant, customer_id)
            if customer is None:
                return {}
        return grants.debts(conn, ctx.tenant, customer, currency_id, ctx.clock.now())


@router.get("/{event_id}", response_model=PkMeterEvent)
def retrieve_event(event_id: str, ctx: ReadPk) -> PkMeterEvent:
    with ctx.database.read() as conn:
        row = meter_events.get_event(conn, ctx.tenant, event_id)
        return meter_events.render_events(conn, ctx.tenant, [row], ctx.clock.now())[0]
