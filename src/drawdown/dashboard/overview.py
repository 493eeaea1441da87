"""Overview: what an operator checks first."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from drawdown.credits import reports
from drawdown.dashboard.context import Dash
from drawdown.dashboard.panels import overview_panels
from drawdown.dashboard.templating import DashRoute, page
from drawdown.events import explore
from drawdown.events import service as events

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", route_class=DashRoute, include_in_schema=False)

EXPIRING_WITHIN = timedelta(days=7)
LATEST_EVENTS = 8


@router.get("")
def overview(ctx: Dash) -> HTMLResponse:
    now = ctx.clock.now()
    with ctx.database.read() as conn:
        hour = explore.ingest_counts(conn, ctx.tenant, now, timedelta(hours=1))
        day = explore.ingest_counts(conn, ctx.tenant, now, timedelta(days=1))
        stats = {
            "events_hour": hour.events,
            "events_day": day.events,
            "duplicates_hour": hour.duplicates,
            "duplicates_day": day.duplicates,
            "in_debt": reports.count_customers_in_debt(conn, ctx.tenant),
        }
        debtors = reports.customers_in_debt(conn, ctx.tenant, now)
        expiring = reports.expiring_grants(conn, ctx.tenant, now, EXPIRING_WITHIN)
        panels = overview_panels(conn, ctx)
        latest = explore.events_page(
            conn, ctx.tenant, explore.EventFilter(), limit=LATEST_EVENTS, starting_after=None
        )
    return page(
        ctx.request,
        ctx,
        "overview.html",
        nav="overview",
        stats=stats,
        windows={"hour": hour.since, "day": day.since},
        debtors=debtors,
        expiring=expiring,
        panels=panels,
        latest=[events.render(row) for row in latest.data],
    )
