"""The measured sections; each adds a table to the report."""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sqlalchemy import func, select

from bench.data import METERS, event_batches
from bench.fixtures import TenantFixture, create_customers, create_meter, make_key
from bench.floor import FloorDb, prepare, run_floor
from bench.load import LoadResult, Request, run_load
from bench.profiler import profiled
from bench.report import Report, Section, progress
from bench.server import Server
from bench.settings import BenchSettings
from bench.usage_load import load_usage_events
from drawdown.db.engine import Database
from drawdown.db.tables import events, ledger_entries

__all__ = ["StorageFloor", "ingest", "reads", "record_memory", "usage"]

INGEST_PATH = "/v1/events/ingest"
READ_TARGETS_PER_CLIENT = 1000  # distinct requests each client cycles through
HOLDS_PER_CUSTOMER = 2
WARMUP = 2


def _now() -> datetime:
    return datetime.now(UTC)


class StorageFloor:
    """The floor, measured before the server starts and again after the ingest run, so a
    ratio divides by storage speed as it was around the measured load (the machine is
    shared and its disk and cores vary over minutes)."""

    def __init__(self, settings: BenchSettings, url: str, report: Report) -> None:
        self.settings, self.url = settings, url
        self.section = report.section(
            "Storage floor (raw inserts into the real events table, one transaction per batch)",
            "when",
            "batch",
            "events",
            "seconds",
            "events/s",
            "method",
        )
        self.section.notes.append(
            "Same schema, indexes and foreign keys (alembic upgrade), rows built before the "
            "clock starts; each batch committed. Ratios below divide by the mean of the runs."
        )
        self.db = FloorDb(url, settings.customers)
        self.rates: dict[int, list[float]] = {1000: [], 100: []}

    def measure(self, when: str) -> None:
        method = "COPY (psycopg 3)" if self.settings.is_pg else "executemany, WAL, sync=FULL"
        count = self.settings.floor_events
        for batch_size, total in ((1000, count), (100, count // 3)):
            label = f"floor-{when}-{batch_size}".replace(" ", "-")
            batches = event_batches(label, total, batch_size, self.settings.customers, _now())
            rows = prepare(self.db, batches)
            n, seconds = run_floor(self.url, rows)
            self.rates[batch_size].append(n / seconds)
            self.section.add(when, batch_size, n, seconds, n / seconds, method)
            progress(f"floor {when}, batches of {batch_size}: {n / seconds:,.0f} events/s")

    def mean(self, batch_size: int) -> float:
        return statistics.fmean(self.rates[batch_size])


def record_memory(section: Section, label: str, server: Server) -> None:
    total, each = server.rss_mib()
    section.add(label, total, " / ".join(f"{value:.0f}" for value in each))


def _cores(result: LoadResult) -> str:
    """CPU use over the run in cores: load generator / server / PostgreSQL / the rest."""
    client = result.client_cpu_s / result.wall_s
    server = result.server_cpu_s / result.wall_s
    # A PostgreSQL backend that exits during the run takes its CPU time with it.
    postgres = max(0.0, result.postgres_cpu_s / result.wall_s)
    other = max(0.0, result.machine_cpu_s / result.wall_s - client - server - postgres)
    return f"{client:.2f} / {server:.2f} / {postgres:.2f} / {other:.2f}"


@contextmanager
def _balance(server: Server, section: Section, label: str, clients: int) -> Iterator[None]:
    """Note when one worker did most of the work: uvicorn's workers share one listening
    socket and the kernel may hand 3 or 4 of the 4 keep-alive connections to one of them,
    which lowers that row's figures (the fixed client count makes it visible)."""
    before = server.worker_cpu_s()
    yield
    if clients < 2:  # one connection is served by one worker by design
        return
    used = [after - start for after, start in zip(server.worker_cpu_s(), before, strict=False)]
    if len(used) > 1 and sum(used) > 0 and min(used) < 0.25 * max(used):
        split = " / ".join(f"{value:.1f}" for value in used)
        section.notes.append(
            f"UNEVEN: {label}: worker CPU seconds {split}; connections landed unevenly on "
            "the workers, so this row understates the server."
        )


def _per_cpu_s(result: LoadResult) -> float:
    """Work per CPU-second of drawdown serve: unlike a rate, barely moved by other load on
    the machine (PostgreSQL's own CPU is not in it)."""
    return result.units / result.server_cpu_s if result.server_cpu_s else float("nan")


CPU_COLUMN = "CPU cores: clients / server / postgres / other"
CPU_NOTE = (
    "CPU cores are busy cores over the run (the machine has 2): the load generator's "
    "processes (one keep-alive HTTP/1.1 connection each), drawdown serve's processes, every "
    "PostgreSQL process (other users' databases too), and everything else on this shared "
    "machine (other engineers' test runs)."
)


def _access_path(paths: set[str]) -> str | None:
    return next(
        (p for p in paths if p.startswith("/v1/customers/{") and p.endswith("/access")), None
    )


def reads(
    settings: BenchSettings,
    server: Server,
    fixture: TenantFixture,
    paths: set[str],
    report: Report,
) -> None:
    section = report.section(
        "Balance/access check beside a trivial endpoint of the same server",
        "endpoint",
        "clients",
        "requests",
        "req/s",
        "per server CPU-s",
        "p50 ms",
        "p99 ms",
        "vs /healthz",
        CPU_COLUMN,
        "errors",
    )
    rng = random.Random("reads")
    targets: list[tuple[str, list[str]]] = [("GET /healthz", ["/healthz"])]
    if _access_path(paths) is None or not fixture.meter_ids:
        section.notes.append("MISSING: GET /v1/customers/{id}/access is not on this build.")
    else:
        meter = METERS[1].event_name
        targets.append(
            (
                f"GET /v1/customers/{{id}}/access?meter={meter}",
                [f"/v1/customers/{cid}/access?meter={meter}" for cid in fixture.customer_ids],
            )
        )
    healthz: dict[int, float] = {}

    def measure(label: str, urls: list[str]) -> None:
        for clients in (1, 4):
            per_client = [
                [Request("GET", rng.choice(urls)) for _ in range(READ_TARGETS_PER_CLIENT)]
                for _ in range(clients)
            ]
            profile = settings.profile and clients == 4 and label != "GET /healthz"
            with (
                profiled(profile, server.worker_pids(), f"{settings.backend}-access"),
                _balance(server, section, f"{label} x{clients}", clients),
            ):
                result = run_load(
                    server.url,
                    fixture.headers,
                    per_client,
                    settings.read_duration_s,
                    server.cpu_s,
                    WARMUP,
                    cycle=True,
                )
            healthz.setdefault(clients, result.requests_per_s)
            section.add(
                label,
                clients,
                result.requests,
                result.requests_per_s,
                _per_cpu_s(result),
                result.p50_ms,
                result.p99_ms,
                f"{result.requests_per_s / healthz[clients]:.0%}",
                _cores(result),
                result.errors,
            )
            progress(f"{label} x{clients}: {result.requests_per_s:,.0f} req/s {result.first_error}")

    for label, urls in targets:
        measure(label, urls)
    if len(targets) > 1 and "/v1/holds" in paths:
        placed = _place_holds(server, fixture, METERS[1].event_name)
        section.notes.append(
            f"'with holds': {placed} active holds placed first ({HOLDS_PER_CUSTOMER} per "
            "customer that could fit them), which every access check then counts."
        )
        measure(targets[1][0] + " (with holds)", targets[1][1])
    section.notes.append(CPU_NOTE)


def _ingest_requests(label: str, per_client: int, batch_size: int, customers: int) -> list[Request]:
    batches = event_batches(label, per_client + WARMUP * batch_size, batch_size, customers, _now())
    return [
        Request("POST", INGEST_PATH, orjson.dumps({"events": batch}), len(batch))
        for batch in batches
    ]


def ingest(
    settings: BenchSettings,
    server: Server,
    fixture: TenantFixture,
    paths: set[str],
    report: Report,
    floor: StorageFloor,
) -> None:
    """Every configuration, then the floor again; ratios divide by the floor's mean."""
    section = report.section(
        "HTTP ingest with drawdown (POST /v1/events/ingest)",
        "batch",
        "clients",
        "events",
        "events/s",
        "per server CPU-s",
        "p50 ms",
        "p99 ms",
        "vs floor",
        CPU_COLUMN,
        "errors",
    )
    if INGEST_PATH not in paths:
        section.notes.append("MISSING: POST /v1/events/ingest is not on this build.")
        return
    measured: list[tuple[list[str], int, float]] = []
    for batch_size in (100, 1000):
        for clients in (1, 4):
            per_client = [
                _ingest_requests(
                    f"ingest-{batch_size}-{clients}-{k}",
                    settings.ingest_events // clients,
                    batch_size,
                    settings.customers,
                )
                for k in range(clients)
            ]
            profile = settings.profile and clients == 4
            name = f"{settings.backend}-ingest-{batch_size}"
            with (
                profiled(profile, server.worker_pids(), name),
                _balance(server, section, f"batch {batch_size} x{clients}", clients),
            ):
                result = run_load(
                    server.url,
                    fixture.headers,
                    per_client,
                    settings.ingest_cap_s,
                    server.cpu_s,
                    WARMUP,
                )
            section.add(
                batch_size,
                clients,
                result.units,
                result.units_per_s,
                _per_cpu_s(result),
                result.p50_ms,
                result.p99_ms,
                "",  # the ratio, once the floor is measured again
                _cores(result),
                result.errors,
            )
            measured.append((section.rows[-1], batch_size, result.units_per_s))
            progress(
                f"ingest batch {batch_size} x{clients}: {result.units_per_s:,.0f} events/s "
                f"{result.first_error}"
            )
    section.notes.extend(_ingest_notes(server, fixture))
    floor.measure("after ingest")
    for row, batch_size, rate in measured:
        row[section.columns.index("vs floor")] = f"{rate / floor.mean(batch_size):.0%}"


def _ingest_notes(server: Server, fixture: TenantFixture) -> list[str]:
    database = Database(server.database_url)
    with database.read() as conn:
        stored = conn.execute(
            select(func.count()).where(events.c.organization_id == fixture.organization_id)
        ).scalar_one()
        entries = conn.execute(
            select(func.count()).where(ledger_entries.c.organization_id == fixture.organization_id)
        ).scalar_one()
    database.dispose()
    notes = [
        f"Stored {stored:,} events and {entries:,} ledger entries for {fixture.grants:,} grants "
        f"over {len(fixture.customer_ids):,} customers and {len(fixture.meter_ids)} meters.",
        "'vs floor' divides by the mean storage floor (before and after) of the same batch size.",
        CPU_NOTE,
    ]
    notes.extend(f"MISSING: {what} is not on this build." for what in fixture.missing)
    return notes


def usage(
    settings: BenchSettings, url: str, server: Server, paths: set[str], report: Report
) -> None:
    section = report.section(
        f"Usage query over {settings.usage_events:,} generated events of one meter",
        "query",
        "buckets",
        "first ms",
        "median ms",
        "runs",
    )
    if not any(p.startswith("/v1/meters/{") and p.endswith("/usage") for p in paths):
        section.notes.append("MISSING: GET /v1/meters/{id}/usage is not on this build.")
        return
    if settings.usage_events <= 0:
        section.notes.append("Skipped: BENCH_USAGE_EVENTS=0.")
        return
    organization_id, secret = make_key(url, "bench-usage")
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
        customer_ids = create_customers(client, settings.customers)
        meter_id = create_meter(client, METERS[1], None)
        end = _now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        span = (end - timedelta(days=30), end)
        progress(f"generating {settings.usage_events:,} events")
        seconds = load_usage_events(
            url,
            organization_id,
            METERS[1].event_name,
            [uuid.UUID(cid.split("_", 1)[1]) for cid in customer_ids],
            settings.usage_events,
            span,
            lambda done, s: progress(f"  {done:,} events in {s:.0f} s ({done / s:,.0f}/s)"),
        )
        section.notes.append(
            f"Generated {settings.usage_events:,} events in {seconds:.0f} s "
            f"({settings.usage_events / seconds:,.0f}/s) over 30 days and "
            f"{settings.customers:,} customers (BENCH_USAGE_EVENTS sets the count)."
        )
        _usage_queries(client, section, meter_id, customer_ids[0], span)


def _usage_queries(
    client: httpx.Client,
    section: Section,
    meter_id: str,
    customer_id: str,
    span: tuple[datetime, datetime],
) -> None:
    def stamp(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    month = {"from": stamp(span[0]), "to": stamp(span[1])}
    day = {"from": stamp(span[1] - timedelta(days=1)), "to": stamp(span[1])}
    queries = [
        ("30 days by day, all customers", {**month, "window": "day"}),
        ("30 days by hour, all customers", {**month, "window": "hour"}),
        ("last day by hour, all customers", {**day, "window": "hour"}),
        ("30 days by day, one customer", {**month, "window": "day", "customer_id": customer_id}),
        ("30 days by hour, one customer", {**month, "window": "hour", "customer_id": customer_id}),
    ]
    for label, params in queries:
        timings: list[float] = []
        buckets = 0
        while len(timings) < 5 and sum(timings) < 10.0:
            t0 = time.perf_counter()
            response = client.get(f"/v1/meters/{meter_id}/usage", params=params)
            timings.append(time.perf_counter() - t0)
            if response.status_code != 200:
                section.notes.append(f"ERROR {label}: {response.status_code} {response.text[:300]}")
                break
            buckets = len(response.json()["buckets"])
        later = timings[1:] or timings
        section.add(
            label, buckets, timings[0] * 1000, statistics.median(later) * 1000, len(timings)
        )
        progress(f"usage {label}: {timings[0] * 1000:.0f} ms first")


def _place_holds(server: Server, fixture: TenantFixture, meter: str) -> int:
    """Active holds (small, long timeout) for every customer; how many were placed."""
    placed = 0
    with httpx.Client(base_url=server.url, headers=fixture.headers, timeout=30) as client:
        for customer_id in fixture.customer_ids:
            for _ in range(HOLDS_PER_CUSTOMER):
                body = {
                    "customer_id": customer_id,
                    "meter_id": meter,
                    "amount": "0.01",
                    "timeout_s": 86_400,
                }
                placed += client.post("/v1/holds", json=body).status_code == 201
    return placed
