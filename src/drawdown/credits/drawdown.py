"""Drawdown of usage against grants, inside the ingest transaction (DESIGN rules 1, 5, 6, 7,
13). One batch: create missing accounts, lock every touched account once in id order, load
their open grants in one query, apply the clock and each usage in batch order in memory,
then write grants, entries and accounts with one multi-row statement each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits import store
from drawdown.credits.book import Book, GrantState
from drawdown.credits.usage import Usage
from drawdown.ids import new_id
from drawdown.tenancy import Tenant

__all__ = ["DEFAULT_PRIORITY", "USAGE_GRANT_NAME", "apply_usage", "open_books"]

DEFAULT_PRIORITY = 50
USAGE_GRANT_NAME = "Credit from usage event"


def open_books(
    conn: Connection,
    tenant: Tenant,
    keys: Sequence[store.AccountKey],
    now: datetime,
    *,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
    with_holds: bool = False,
) -> dict[store.AccountKey, tuple[Any, Book]]:
    """Locked, caught-up books for these accounts (created if missing). Existing accounts
    are locked first (the common case: one statement); missing ones are then created and
    locked. Every transaction takes existing locks before creating anything, and creates in
    key order, so no two can wait on each other in a cycle. ``grace``: the expiry grace of
    rule 5 (Settings.expiry_grace); ``with_holds`` loads the active holds (rule 17)."""
    rows = store.lock_accounts(conn, tenant, keys)
    missing = set(keys) - {(row.customer_id, row.currency_id) for row in rows}
    if missing:
        store.ensure_accounts(conn, tenant, missing, now)
        rows += store.lock_accounts(conn, tenant, missing)
    books = store.load_books(conn, rows, with_holds=with_holds)
    opened = {}
    for row in rows:
        book = books[row.id]
        book.catch_up(now, grace)
        opened[(row.customer_id, row.currency_id)] = (row, book)
    return opened


def apply_usage(
    conn: Connection,
    tenant: Tenant,
    usages: Sequence[Usage],
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> None:
    """Book ``usages`` (in order) against their customers' grants, inside the caller's
    transaction. When this returns, every touched balance is exact. Holds are not loaded:
    usage is a fact and never waits on, or fails because of, a hold (rule 1)."""
    usages = [u for u in usages if u.amount_units != 0]
    if not usages:
        return
    keys = [(u.customer_id, u.currency_id) for u in usages]
    opened = open_books(conn, tenant, keys, now, grace=grace)
    grant_values: dict[uuid.UUID, dict[str, Any]] = {}
    for usage in usages:
        _, book = opened[(usage.customer_id, usage.currency_id)]
        if usage.amount_units > 0:
            book.consume(usage.amount_units, usage.event_id, usage.timestamp, now)
        else:
            grant = _usage_grant(usage, now)
            grant_values[grant.id] = {
                "name": USAGE_GRANT_NAME,
                "source_event_id": usage.event_id,
            }
            book.add_grant(grant, now)
    for _, book in opened.values():
        book.catch_up(now, grace)  # a usage grant may carry an expiry already past
        book.check(now)
    store.flush_books(conn, list(opened.values()), now, grant_values)


def _usage_grant(usage: Usage, now: datetime) -> GrantState:
    """A negative usage event grants credits (rule 7): promotional, default priority,
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
