"""The background rebuild of usage rollups for meters made after their events were stored:
one bounded chunk per transaction, in every server process (or ``drawdown worker``)."""

from __future__ import annotations

import logging
import threading
import uuid

from drawdown.db.engine import Database
from drawdown.events.pricing import PricedMeter, priced_meters
from drawdown.meters import store as meter_store
from drawdown.rollups import service as rollups
from drawdown.tenancy import Tenant

__all__ = ["BackfillThread", "backfill_all", "backfill_once"]

log = logging.getLogger("drawdown.rollups")


def backfill_once(database: Database, max_events: int = rollups.BACKFILL_CHUNK_EVENTS) -> bool:
    """One chunk of the oldest pending rebuild; False when none is pending."""
    with database.read() as conn:
        if not rollups.has_backfills(conn):
            return False  # the common case: one read, no write lock
    with database.write() as conn:

        def meter_for(tenant: Tenant, meter_id: uuid.UUID) -> tuple[str, PricedMeter] | None:
            row = meter_store.get_by_id(conn, tenant, meter_id)
            if row is None:
                return None
            found = priced_meters(meter_store.meters_for_names(conn, tenant, [row.event_name]))
            return row.event_name, found[row.event_name]

        return rollups.backfill_step(conn, meter_for, max_events)


def backfill_all(
    database: Database,
    max_events: int = rollups.BACKFILL_CHUNK_EVENTS,
    max_chunks: int = 100_000,
) -> int:
    """Run pending rebuilds to the end, in chunks of ``max_events``; the chunks done."""
    done = 0
    while done < max_chunks and backfill_once(database, max_events):
        done += 1
    return done


class BackfillThread:
    def __init__(self, database: Database, interval_s: float) -> None:
        self._stop = threading.Event()
        self._database = database
        self._interval_s = interval_s
        self._thread = threading.Thread(target=self._run, name="drawdown-rollups", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and backfill_once(self._database):
                    pass
            except Exception:
                log.exception("rollup backfill failed; retrying in %.1f s", self._interval_s)
            self._stop.wait(self._interval_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
