"""The background clock: books grant activations (paying debt first) and expirations that
have come due. It runs as a thread in every server process by default, or in separate
``drawdown worker`` processes; any number can run at once, because each pass locks the
accounts it works on with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) or holds SQLite's single
write lock. Reads never wait for it: they apply the same clock in memory.

Other domains' timed work (scheduled top-ups, expiry of pending ones) joins the pass as
*extra passes* handed in by the application's wiring, so credits never imports them: each
is ``pass_(database, now) -> how many things it did`` and must be safe to run from any
number of processes at once."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from drawdown.clock import Clock
from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits import store
from drawdown.credits.work import CreditWork
from drawdown.db.engine import Database
from drawdown.ops import logs

__all__ = [
    "MAX_ACCOUNTS_PER_PASS",
    "ClockPass",
    "ClockThread",
    "lag_s",
    "run_clock",
    "sweep_once",
]

ClockPass = Callable[[Database, datetime], int]

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
        work = CreditWork.open_due(conn, now, max_accounts, grace)
        work.finish()  # opening caught every book up: what was due is now booked
    return len(work)


def lag_s(database: Database, now: datetime) -> float:
    """Seconds since the oldest activation or expiry that is due but not booked (0 when
    the clock is caught up)."""
    with database.read() as conn:
        oldest = store.oldest_due_at(conn, now)
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


def run_clock(
    database: Database,
    clock: Clock,
    interval_s: float,
    stop: threading.Event,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
    passes: Sequence[ClockPass] = (),
) -> None:
    while not stop.is_set():
        _one_pass(database, clock, interval_s, grace, passes)
        stop.wait(interval_s)


def _one_pass(
    database: Database,
    clock: Clock,
    interval_s: float,
    grace: timedelta,
    passes: Sequence[ClockPass] = (),
) -> None:
    """Sweep until nothing more is due, then the extra passes; one log line per pass
    (debug when idle)."""
    started = time.perf_counter()
    booked = 0
    with logs.bound(job="clock", job_id=uuid.uuid4().hex):
        try:
            while True:
                count = sweep_once(database, clock.now(), grace=grace)
                booked += count
                if count < MAX_ACCOUNTS_PER_PASS:
                    break  # more is due only when the pass was full: then keep going
            for extra in passes:
                booked += extra(database, clock.now())
        except Exception:
            log.exception("clock pass failed; retrying in %.1f s", interval_s)
            return
        fields = {
            "accounts": booked,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        log.log(logging.INFO if booked else logging.DEBUG, "clock pass", extra=fields)


class ClockThread:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        interval_s: float,
        grace: timedelta = DEFAULT_EXPIRY_GRACE,
        passes: Sequence[ClockPass] = (),
    ) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_clock,
            args=(database, clock, interval_s, self._stop, grace, passes),
            name="drawdown-clock",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
