"""What a benchmark run does, from the command line and ``BENCH_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

__all__ = ["BenchSettings", "load"]

Backend = Literal["sqlite", "postgresql"]
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class BenchSettings:
    backend: Backend
    # A PostgreSQL server URL; the run creates its own databases there and drops them.
    pg_server_url: str
    workers: int
    customers: int
    floor_events: int
    ingest_events: int  # per configuration (batch size x clients)
    ingest_cap_s: float  # a configuration stops early after this many seconds
    read_duration_s: float  # per access/healthz configuration
    usage_events: int
    profile: bool  # record py-spy profiles of the server during ingest and access
    webhook_probes: int = 40  # commit-to-receiver latency samples
    # BENCH_SECTIONS=ingest,webhooks runs only those (default: every section).
    sections: frozenset[str] = frozenset()

    @property
    def is_pg(self) -> bool:
        return self.backend == "postgresql"

    def runs(self, section: str) -> bool:
        return not self.sections or section in self.sections


def load(backend: Backend) -> BenchSettings:
    return BenchSettings(
        backend=backend,
        pg_server_url=os.environ.get("DRAWDOWN_BENCH_DATABASE_URL", DEFAULT_PG_URL),
        # SQLite has one writer whatever the process count; 2 processes still serve reads
        # in parallel. PostgreSQL: one process per core.
        workers=_int("BENCH_WORKERS", 2),
        customers=_int("BENCH_CUSTOMERS", 1000),
        floor_events=_int("BENCH_FLOOR_EVENTS", 100_000),
        ingest_events=_int("BENCH_INGEST_EVENTS", 40_000),
        ingest_cap_s=_float("BENCH_INGEST_CAP_S", 25.0),
        read_duration_s=_float("BENCH_READ_S", 6.0),
        usage_events=_int("BENCH_USAGE_EVENTS", 10_000_000),
        profile=os.environ.get("BENCH_PROFILE", "") not in ("", "0"),
        webhook_probes=_int("BENCH_WEBHOOK_PROBES", 40),
        sections=frozenset(s for s in os.environ.get("BENCH_SECTIONS", "").split(",") if s),
    )
