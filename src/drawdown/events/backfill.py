"""Background upkeep of the event store, in every server process (or ``drawdown worker``):
the rebuild of usage rollups for meters made after their events were stored (one bounded
chunk per transaction), and, on PostgreSQL, monthly event partitions created ahead."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from drawdown.db.engine import Database
from drawdown.db.partitions import ensure_event_partitions
from drawdown.events.pricing import PricedMeter, priced_meters
from drawdown.meters import store as meter_store
from drawdown.rollups import service as rollups
from drawdown.tenancy import Tenant

__all__ = ["BackfillThread", "backfill_all", "backfill_once", "maintain_once"]

# How far back partitions must exist: events are accepted up to max_event_age in the past.
PARTITIONS_BACK = timedelta(days=40)
PARTITION_CHECK_S = 3600.0

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


def maintain_once(database: Database, now: datetime, back: timedelta = PARTITIONS_BACK) -> None:
    """Create the event partitions missing from ``back`` before ``now`` to months ahead."""
    with database.write() as conn:
        ensure_event_partitions(conn, now - back, now)


class BackfillThread:
    def __init__(
        self, database: Database, interval_s: float, partitions_back: timedelta = PARTITIONS_BACK
    ) -> None:
        self._stop = threading.Event()
        self._database = database
        self._interval_s = interval_s
        self._back = partitions_back
        self._partitions_checked = float("-inf")
        self._thread = threading.Thread(target=self._run, name="drawdown-upkeep", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._partitions_checked >= PARTITION_CHECK_S:
                    maintain_once(self._database, datetime.now(UTC), self._back)
                    self._partitions_checked = time.monotonic()
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
