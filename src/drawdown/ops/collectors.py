"""Metrics computed when scraped (the clock's lag, read from the database) and the pool
gauge kept by SQLAlchemy's pool events."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event

from drawdown.clock import Clock
from drawdown.db.engine import Database
from drawdown.ops import metrics

__all__ = ["ClockLagCollector", "collectors", "watch_pool"]

log = logging.getLogger("drawdown.metrics")


class ClockLagCollector:
    """``drawdown_clock_lag_seconds``: how long the oldest due grant activation or expiry
    has waited to be booked. Read from the database, so it is right whichever process (a
    server's clock thread or a ``drawdown worker``) books them."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from drawdown.credits.clock import lag_s

        try:
            lag = lag_s(self.database, self.clock.now())
        except Exception as exc:  # a scrape must not fail because the database did
            log.warning("clock lag unavailable", extra={"error": type(exc).__name__})
            return
        yield GaugeMetricFamily(
            "drawdown_clock_lag_seconds",
            "Age of the oldest due grant activation or expiry not yet booked",
            value=lag,
        )

    def describe(self) -> list[Any]:
        return []  # computed at scrape time only


def collectors(database: Database, clock: Clock) -> list[Any]:
    return [ClockLagCollector(database, clock)]


def watch_pool(database: Database) -> None:
    """Keep ``drawdown_db_pool_connections`` as connections leave and return to the pool."""
    gauge = metrics.DB_POOL_CONNECTIONS.labels()

    @event.listens_for(database.engine, "checkout")
    def _checkout(*_: Any) -> None:
        gauge.inc()

    @event.listens_for(database.engine, "checkin")
    def _checkin(*_: Any) -> None:
        gauge.dec()
