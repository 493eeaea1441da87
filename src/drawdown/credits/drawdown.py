"""Drawdown of usage against grants (DESIGN rules 1, 5, 6, 7). Being written in the
credits branch; until it lands this accepts usage and books nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from drawdown.credits.usage import Usage
from drawdown.tenancy import Tenant

__all__ = ["apply_usage"]


def apply_usage(conn: Connection, tenant: Tenant, usages: Sequence[Usage], now: datetime) -> None:
    """Book ``usages`` (in order) against their customers' grants, inside the caller's
    transaction. Locks each touched credit account once, in a fixed order."""
    return None
