"""PostgreSQL: the events table is partitioned by month of ``timestamp`` (UTC), with a
default partition that stays empty as long as months are created ahead. Exact dedup lives
in ``event_identifiers`` (a unique key on a partitioned table must include the partition
key, so ``(organization_id, mode, identifier)`` cannot be one there). SQLite keeps one
events table and its unique key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Connection

from drawdown.db.types import to_micros

__all__ = [
    "MONTHS_AHEAD",
    "dedups_apart",
    "ensure_event_partitions",
    "month_starts",
    "partition_name",
]

log = logging.getLogger("drawdown.partitions")

# Months created ahead of the clock: events are accepted at most minutes in the future, so
# the default partition never receives a row while this runs at least monthly.
MONTHS_AHEAD = 2
_LOCK_KEY = 0x6464_7061_7274  # "ddpart": one creator at a time across processes


def _month(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def month_starts(first: datetime, last: datetime) -> list[datetime]:
    """The first instant of every UTC month from ``first``'s to ``last``'s, inclusive."""
    out = []
    at = _month(first.year, first.month)
    while at <= last:
        out.append(at)
        at = _month(at.year, at.month + 1)
    return out


def partition_name(start: datetime) -> str:
    return f"events_p{start.year:04d}_{start.month:02d}"


def dedups_apart(conn: Connection) -> bool:
    """Whether event identifiers are kept unique in ``event_identifiers`` (PostgreSQL)."""
    return conn.dialect.name == "postgresql"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql("SELECT relkind FROM pg_class WHERE relname = 'events'").scalar()
    return bool(kind == "p")


def ensure_event_partitions(
    conn: Connection, first: datetime, last: datetime, months_ahead: int = MONTHS_AHEAD
) -> list[str]:
    """Create the monthly partitions from ``first``'s month to ``months_ahead`` months past
    ``last``'s (those missing); the names created. No-op unless events is partitioned."""
    if not is_partitioned(conn):
        return []
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
    existing = set(
        conn.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
        ).scalars()
    )
    created = []
    end = _month(last.year, last.month + months_ahead)
    for start in month_starts(first, end):
        name = partition_name(start)
        if name in existing:
            continue
        following = _month(start.year, start.month + 1)
        conn.exec_driver_sql(
            f"CREATE TABLE {name} PARTITION OF events "
            f"FOR VALUES FROM ({to_micros(start)}) TO ({to_micros(following)})"
        )
        created.append(name)
    if created:
        log.info("created event partitions %s", ", ".join(created))
    return created
