"""Overview cards of features that land separately (holds, top-ups, webhooks): each adds
its card here when it exists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from drawdown.dashboard.context import DashCtx

__all__ = ["Panel", "overview_panels"]


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    value: str
    href: str | None = None


def overview_panels(conn: Connection, ctx: DashCtx) -> list[Panel]:
    return []
