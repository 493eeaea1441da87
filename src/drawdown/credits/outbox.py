"""The hook where credit changes become outbox events, in the transaction of the change.

Hold resolutions are collected on each :class:`~drawdown.credits.book.Book` and handed
here inside the transaction that makes them, just before the book is flushed. Until the
webhooks outbox exists this is the one place to connect it: ``hold.created``,
``hold.captured``, ``hold.released`` and ``hold.expired`` pass through
:func:`emit_hold_event`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from drawdown.credits.book import Book, HoldState

__all__ = ["HOLD_EVENT_TYPES", "emit_hold_event", "notify_holds"]

HOLD_EVENT_TYPES = {
    "active": "hold.created",
    "captured": "hold.captured",
    "released": "hold.released",
    "expired": "hold.expired",
}


def emit_hold_event(conn: Connection, account: Any, hold: HoldState) -> None:
    """Write the ``hold.*`` event for this hold's new status to the outbox, in ``conn``'s
    transaction. No outbox exists yet: nothing is written."""
    del conn, account, hold


def notify_holds(conn: Connection, pairs: Sequence[tuple[Any, Book]]) -> None:
    """Emit an event for every hold created or resolved in these books."""
    for account, book in pairs:
        for hold_id in sorted(book.changed_holds):
            emit_hold_event(conn, account, (book.holds or {})[hold_id])
