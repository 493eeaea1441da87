"""PostgreSQL partitioning of events by month: rows land in their month's partition, dedup
stays exact across partitions (event_identifiers), partitions are created ahead by the
clock, and the default partition stays empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drawdown.clock import ManualClock
from drawdown.db.engine import Database
from drawdown.db.partitions import ensure_event_partitions, month_starts, partition_name
from drawdown.events.backfill import maintain_once

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def _partition_counts(database: Database) -> dict[str, int]:
    with database.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1"
        ).all()
    return {str(name): int(count) for name, count in rows}


def test_month_starts() -> None:
    starts = month_starts(datetime(2024, 11, 20, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    assert [partition_name(s) for s in starts] == [
        "events_p2024_11",
        "events_p2024_12",
        "events_p2025_01",
        "events_p2025_02",
    ]


def test_events_by_month_with_exact_dedup(api: Any, clock: ManualClock, database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("partitioning is PostgreSQL's")
    clock.set(NOW)
    with database.write() as conn:
        ensure_event_partitions(conn, NOW - timedelta(days=40), NOW)
    old = (NOW - timedelta(days=30)).isoformat()  # February
    events = [
        {"identifier": "a", "name": "ev", "external_customer_id": "x", "timestamp": old},
        {"identifier": "b", "name": "ev", "external_customer_id": "x"},
    ]
    assert api.ok("POST", "/v1/events/ingest", json={"events": events})["inserted"] == 2
    # The same identifiers with timestamps of other months are still duplicates.
    again = [
        {"identifier": "a", "name": "ev", "external_customer_id": "x"},
        {"identifier": "b", "name": "ev", "external_customer_id": "x", "timestamp": old},
        {"identifier": "c", "name": "ev", "external_customer_id": "x", "timestamp": old},
    ]
    result = api.ok("POST", "/v1/events/ingest", json={"events": again})
    assert result == {"inserted": 1, "duplicates": 2}
    counts = _partition_counts(database)
    assert counts == {"events_p2025_02": 2, "events_p2025_03": 1}
    listed = api.ok("GET", "/v1/events", params={"limit": 10})["data"]
    assert sorted(e["identifier"] for e in listed) == ["a", "b", "c"]
    one = api.ok("GET", f"/v1/events/{listed[0]['id']}")
    assert one["identifier"] == listed[0]["identifier"]


def test_partitions_created_ahead_by_the_clock(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("partitioning is PostgreSQL's")
    far = datetime.now(UTC) + timedelta(days=400)
    maintain_once(database, far)
    with database.read() as conn:
        names = set(
            conn.exec_driver_sql(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'"
            ).scalars()
        )
        in_default = conn.exec_driver_sql("SELECT count(*) FROM events_default").scalar()
    ahead = far.replace(day=1) + timedelta(days=62)
    assert partition_name(far.replace(day=1)) in names
    assert partition_name(ahead.replace(day=1)) in names
    assert in_default == 0
