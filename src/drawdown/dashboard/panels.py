"""Overview cards of features that land separately (holds, top-ups, webhooks): each adds
its card here when it exists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from drawdown.credits import holds
from drawdown.dashboard.context import DashCtx

__all__ = ["Panel", "overview_panels"]


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    value: str
    href: str | None = None


def _holds_panel(conn: Connection, ctx: DashCtx) -> Panel:
    return Panel("Active holds", str(holds.count_active(conn, ctx.tenant, ctx.clock.now())))


def overview_panels(conn: Connection, ctx: DashCtx) -> list[Panel]:
    return [_holds_panel(conn, ctx)]
