"""JSON for the charts, from the same usage queries as ``GET /v1/meters/{id}/usage``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from drawdown.dashboard.context import Dash
from drawdown.dashboard.templating import DashRoute
from drawdown.events import usage
from drawdown.meters import service as meters
from drawdown.tenancy import Tenant

__all__ = ["meter_totals", "router"]

router = APIRouter(prefix="/dashboard/api", route_class=DashRoute, include_in_schema=False)

Interval = Literal["minute", "hour", "day", "week", "month"]
EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
_LABEL_FORMAT = {
    "minute": "%m-%d %H:%M",
    "hour": "%m-%d %H:00",
    "day": "%Y-%m-%d",
    "week": "%Y-%m-%d",
    "month": "%Y-%m",
}


@router.get("/meters/{meter_ref}/quantities")
def quantities(
    ctx: Dash,
    meter_ref: str,
    interval: Interval = "day",
    range_days: Annotated[int, Query(alias="range", ge=1, le=3660)] = 30,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Buckets of the last ``range`` days (UTC) ending now."""
    now = ctx.clock.now()
    time_to = now + timedelta(minutes=1)
    time_from = time_to - timedelta(days=range_days)
    with ctx.database.read() as conn:
        meter = meters.get_meter(conn, ctx.tenant, meter_ref)
        q = usage.usage_query(
            ctx.tenant, meter, time_from, time_to, interval, "UTC", customer_id or None, None
        )
        out = usage.report(conn, q)
    fmt = _LABEL_FORMAT[interval]
    return {
        "meter_id": out.meter_id,
        "kind": "bar" if meter.aggregation_func == "count" else "line",
        "unit": meter.unit or ("events" if meter.aggregation_func == "count" else ""),
        "labels": [bucket.start.astimezone(UTC).strftime(fmt) for bucket in out.buckets],
        "values": [bucket.value for bucket in out.buckets],
        "total": out.total,
    }


def _total(conn: Connection, tenant: Tenant, meter: Any, start: datetime, end: datetime) -> str:
    q = usage.usage_query(tenant, meter, start, end, "none", "UTC", None, None)
    rows = usage.aggregate(conn, q, total=True)
    value = rows[0].value if rows else None
    return usage.format_value(value) or "0"


def meter_totals(conn: Connection, tenant: Tenant, meter: Any, now: datetime) -> dict[str, str]:
    """Current month, previous month and all time (UTC months), as Polar's meter page."""
    month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous = (month - timedelta(days=1)).replace(day=1)
    return {
        "current_month": _total(conn, tenant, meter, month, EVER[1]),
        "previous_month": _total(conn, tenant, meter, previous, month),
        "all_time": _total(conn, tenant, meter, *EVER),
    }
