"""Drawdown of usage against grants, inside the ingest transaction: never refused (uncovered usage
is debt), grants active at the event's time first, debt paid first, negative usage grants
credits, accounts locked in one order. One batch is one unit of work (drawdown.credits.work):
every touched account locked once in id order, their open grants loaded in one query, the clock
and each usage applied in batch order in memory, then grants, entries and accounts written with
one multi-row statement each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.consumption import Usage
from drawdown.credits.book import GrantState
from drawdown.credits.work import CreditWork
from drawdown.ids import new_id
from drawdown.tenancy import Tenant

__all__ = ["DEFAULT_PRIORITY", "USAGE_GRANT_NAME", "apply_usage"]

DEFAULT_PRIORITY = 50
USAGE_GRANT_NAME = "Credit from usage event"


def apply_usage(
    conn: Connection,
    tenant: Tenant,
    usages: Sequence[Usage],
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> None:
    """Book ``usages`` (in order) against their customers' grants, inside the caller's
    transaction. When this returns, every touched balance is exact. Holds are not loaded:
    usage is a fact and never waits on, or fails because of, a hold. ``grace``:
    the expiry grace (Settings.expiry_grace)."""
    usages = [u for u in usages if u.amount_units != 0]
    if not usages:
        return
    keys = [(u.customer_id, u.currency_id) for u in usages]
    work = CreditWork.open(conn, tenant, keys, now, grace=grace)
    for usage in usages:
        if usage.amount_units > 0:
            book = work.book(usage.customer_id, usage.currency_id)
            book.consume(usage.amount_units, usage.event_id, usage.timestamp, now)
        else:
            work.add_grant(
                (usage.customer_id, usage.currency_id),
                _usage_grant(usage, now),
                name=USAGE_GRANT_NAME,
                source_event_id=usage.event_id,
            )
    work.finish()


def _usage_grant(usage: Usage, now: datetime) -> GrantState:
    """A negative usage event grants credits: promotional, default priority,
    effective from the event's time (or now, for a timestamp slightly in the future)."""
    units = -usage.amount_units
    return GrantState(
        id=new_id(),
        amount=units,
        remaining=units,
        category="promotional",
        priority=DEFAULT_PRIORITY,
        effective_at=min(usage.timestamp, now),
        expires_at=usage.expires_at,
        status="pending",
    )
