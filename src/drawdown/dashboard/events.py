"""Events explorer: filter by customer, meter, name and time; each event's properties and
the ledger entries it caused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from drawdown.credits import reports
from drawdown.dashboard.context import Dash
from drawdown.dashboard.customers import currency_symbols
from drawdown.dashboard.templating import DashRoute, fragment, page
from drawdown.errors import request_field
from drawdown.events import explore
from drawdown.events import service as events
from drawdown.http.pagination import Page
from drawdown.ids import parse_id
from drawdown.meters import service as meters
from drawdown.meters import store as meter_store

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/events", route_class=DashRoute, include_in_schema=False)

PAGE_SIZE = 50


def _time(value: str | None, name: str) -> datetime | None:
    """A datetime-local value (UTC) or RFC 3339."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise request_field(["query", name], "is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("")
def explorer(
    ctx: Dash,
    customer: str | None = None,
    meter: str | None = None,
    name: str | None = None,
    time_from: str | None = None,
    time_to: str | None = None,
    event_id: str | None = None,
    starting_after: str | None = None,
) -> HTMLResponse:
    filters = {"customer": customer or "", "meter": meter or "", "name": name or ""}
    filters |= {"time_from": time_from or "", "time_to": time_to or ""}
    with ctx.database.read() as conn:
        meter_rows = meter_store.listed(conn, ctx.tenant, [], status=None)
        found: Page[Any]
        if event_id:
            found = Page[Any](data=[events.get_event(conn, ctx.tenant, event_id)], has_more=False)
        else:
            customer_uuid = parse_id("customer", customer) if customer else None
            wanted = explore.EventFilter(
                customer_id=customer_uuid,
                external_customer_id=customer if customer and customer_uuid is None else None,
                name=name or None,
                meter=meters.get_meter(conn, ctx.tenant, meter) if meter else None,
                time_from=_time(time_from, "time_from"),
                time_to=_time(time_to, "time_to"),
            )
            found = explore.events_page(
                conn, ctx.tenant, wanted, limit=PAGE_SIZE, starting_after=starting_after
            )
        rows = [events.render(row) for row in found.data]
    return page(
        ctx.request,
        ctx,
        "events.html",
        nav="events",
        events=rows,
        has_more=found.has_more,
        filters=filters,
        meters=[meters.render(m) for m in meter_rows],
        expand=event_id or "",
    )


@router.get("/{event_id}")
def event_detail(ctx: Dash, event_id: str) -> HTMLResponse:
    with ctx.database.read() as conn:
        row = events.get_event(conn, ctx.tenant, event_id)
        entries, outcome = reports.event_outcome(conn, ctx.tenant, row.id, ctx.clock.now())
        symbols = currency_symbols(conn, ctx)
    return fragment(
        ctx.request,
        ctx,
        "partials/event_detail.html",
        event=events.render(row),
        entries=entries,
        outcome=outcome,
        decimals=outcome.entries[0].decimals if outcome and outcome.entries else 0,
        symbols=symbols,
    )
