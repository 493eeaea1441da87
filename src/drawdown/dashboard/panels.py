"""Overview cards of features that land separately (holds, top-ups, webhooks): each adds
its card here when it exists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from drawdown.alerts import service as alerts
from drawdown.credits import holds
from drawdown.dashboard.context import DashCtx
from drawdown.topups import service as topups
from drawdown.webhooks import service as webhooks

__all__ = ["Panel", "overview_panels"]


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    value: str
    href: str | None = None
    alert: bool = False  # drawn as needing attention


def webhook_panels(conn: Connection, ctx: DashCtx) -> list[Panel]:
    """Endpoints retrying a failed delivery or disabled by the server, and (alert,
    customer) pairs with a threshold in alarm; both link to the Webhooks page."""
    failing = webhooks.count_failing_endpoints(conn, ctx.tenant)
    in_alarm = alerts.count_alarms(conn, ctx.tenant)
    return [
        Panel("Failing webhook endpoints", str(failing), "/dashboard/webhooks", failing > 0),
        Panel("Alerts in alarm", str(in_alarm), "/dashboard/webhooks", in_alarm > 0),
    ]


def _holds_panel(conn: Connection, ctx: DashCtx) -> Panel:
    return Panel("Active holds", str(holds.count_active(conn, ctx.tenant, ctx.clock.now())))


def overview_panels(conn: Connection, ctx: DashCtx) -> list[Panel]:
    return [*webhook_panels(conn, ctx), _pending_topups(conn, ctx), _holds_panel(conn, ctx)]


def _pending_topups(conn: Connection, ctx: DashCtx) -> Panel:
    """External top-ups waiting for the operator's confirm or fail."""
    count = topups.count_pending(conn, ctx.tenant, ctx.clock.now())
    return Panel("Pending top-ups", str(count), alert=count > 0)
