"""What counting repeated identifiers costs ingest, in process (no HTTP), on one database.

    .venv/bin/python -m bench.ingest_repeats [sqlite|postgresql]

Each round stores BATCHES batches of 1000 new events of one customer-less name through
drawdown.flows.ingest (the API's path, one write transaction per batch), then sends the same
batches again (every event a repeat: the batch's one counter statement runs), then batches
of 900 new and 100 repeated events. Prints events/s per kind, the median of ROUNDS rounds,
and, in the same run, the time the counter's one statement adds to a transaction against
the time of a batch. Nothing is asserted."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.dbs import fresh_database
from bench.settings import load
from drawdown import flows
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.events import store
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant

BATCH = 1000
BATCHES = 20
ROUNDS = 5


def _events(prefix: str, start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"identifier": f"{prefix}-{n}", "name": "bench.repeat", "external_customer_id": "nobody"}
        for n in range(start, start + count)
    ]


def _rate(database: Database, tenant: Tenant, batches: list[list[dict[str, Any]]]) -> float:
    settings = Settings(database_url=database.url)
    started = time.perf_counter()
    for batch in batches:
        with database.write() as conn:
            flows.ingest(conn, tenant, batch, settings, datetime.now(UTC))
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


def _round(database: Database, tenant: Tenant, n: int) -> tuple[float, float, float]:
    fresh = [_events(f"r{n}b{b}", 0, BATCH) for b in range(BATCHES)]
    new_rate = _rate(database, tenant, fresh)
    repeat_rate = _rate(database, tenant, fresh)
    mixed = [
        _events(f"r{n}b{b}", 0, BATCH // 10) + _events(f"r{n}m{b}", 0, BATCH - BATCH // 10)
        for b in range(BATCHES)
    ]
    return new_rate, repeat_rate, _rate(database, tenant, mixed)


def _statement_us(database: Database, tenants: list[Tenant], runs: int = 1000) -> float:
    """Microseconds the counter statement adds to a write transaction that already writes
    (a transaction with two of them less one with one: the commit is paid either way)."""

    def timed(statements: int) -> float:
        started = time.perf_counter()
        for _ in range(runs):
            with database.write() as conn:
                for tenant in tenants[:statements]:
                    store.add_duplicates(conn, tenant, datetime.now(UTC), 7)
        return (time.perf_counter() - started) / runs * 1e6

    timed(2)
    return statistics.median(timed(2) - timed(1) for _ in range(3))


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    if backend not in ("sqlite", "postgresql"):
        sys.exit("usage: python -m bench.ingest_repeats [sqlite|postgresql]")
    settings = load(backend)  # type: ignore[arg-type]
    with fresh_database(settings, "repeats") as url:
        database = Database(url)
        with database.write() as conn:
            tenant = Tenant(keys.create_organization(conn, "bench"), "test")
            other = Tenant(keys.create_organization(conn, "bench other"), "test")
        _round(database, tenant, -1)  # warm up
        rounds = [_round(database, tenant, n) for n in range(ROUNDS)]
        statement_us = _statement_us(database, [other, tenant])
        database.dispose()
    print(f"{backend}: {BATCHES} batches of {BATCH} per kind, median of {ROUNDS} rounds")
    for index, label in enumerate(("all new", "all repeated", "10% repeated")):
        rates = [r[index] for r in rounds]
        print(f"  {label:<14} {statistics.median(rates):9.0f} events/s")
    batch_us = BATCH / statistics.median(r[1] for r in rounds) * 1e6
    print(
        f"  counter statement alone: {statement_us:.0f} us per batch with repeats, "
        f"{statement_us / batch_us:.2%} of an all-repeated batch of {BATCH} ({batch_us:.0f} us)"
    )


if __name__ == "__main__":
    main()
