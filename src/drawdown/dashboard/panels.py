"""Overview cards of features that land separately (holds, top-ups, webhooks): each adds
its card here when it exists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from drawdown.dashboard.context import DashCtx
from drawdown.topups import service as topups

__all__ = ["Panel", "overview_panels"]


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    value: str
    href: str | None = None


def overview_panels(conn: Connection, ctx: DashCtx) -> list[Panel]:
    return [_pending_topups(conn, ctx)]


def _pending_topups(conn: Connection, ctx: DashCtx) -> Panel:
    """External top-ups waiting for the operator's confirm or fail."""
    count = topups.count_pending(conn, ctx.tenant, ctx.clock.now())
    return Panel("Pending top-ups", str(count))
