"""The background clock: books grant activations (paying debt first) and expirations that
have come due. It runs as a thread in every server process by default, or in separate
``drawdown worker`` processes; any number can run at once, because each pass locks the
accounts it works on with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) or holds SQLite's single
write lock. Reads never wait for it: they apply the same clock in memory."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from drawdown.clock import Clock
from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits import store
from drawdown.credits.outbox import notify_holds
from drawdown.db.engine import Database

__all__ = ["MAX_ACCOUNTS_PER_PASS", "ClockThread", "run_clock", "sweep_once"]

log = logging.getLogger("drawdown.clock")

MAX_ACCOUNTS_PER_PASS = 200


def sweep_once(
    database: Database,
    now: datetime,
    max_accounts: int = MAX_ACCOUNTS_PER_PASS,
    *,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> int:
    """Book what is due on at most ``max_accounts`` accounts (activations, expirations
    ``grace`` after expires_at, holds past their expires_at); return how many."""
    with database.read() as conn:
        if not store.due_account_ids(conn, now, 1, grace):
            return 0  # the common case costs one read and no write lock
    with database.write() as conn:
        due = store.due_account_ids(conn, now, max_accounts, grace)
        accounts = store.lock_due_accounts(conn, due, skip_locked=True)
        books = store.load_books(conn, accounts, with_holds=True)
        pairs = []
        for account in accounts:
            book = books[account.id]
            book.catch_up(now, grace)
            book.check(now)
            pairs.append((account, book))
        notify_holds(conn, pairs)
        store.flush_books(conn, pairs, now)
    return len(accounts)


def run_clock(
    database: Database,
    clock: Clock,
    interval_s: float,
    stop: threading.Event,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> None:
    while not stop.is_set():
        try:
            while sweep_once(database, clock.now(), grace=grace) == MAX_ACCOUNTS_PER_PASS:
                pass  # more is due: keep going without sleeping
        except Exception:
            log.exception("clock pass failed; retrying in %.1f s", interval_s)
        stop.wait(interval_s)


class ClockThread:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        interval_s: float,
        grace: timedelta = DEFAULT_EXPIRY_GRACE,
    ) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_clock,
            args=(database, clock, interval_s, self._stop, grace),
            name="drawdown-clock",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
