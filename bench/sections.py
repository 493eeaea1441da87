"""The measured sections; each adds a table to the report."""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sqlalchemy import func, select

from bench.data import METERS, event_batches
from bench.design_floor import prepare_design, run_design_floor
from bench.fixtures import (
    HOLDS_EACH,
    TenantFixture,
    create_customers,
    create_meter,
    make_key,
    place_holds,
)
from bench.floor import FloorDb, prepare, run_floor
from bench.load import LoadResult, Request, run_load
from bench.profiler import profiled
from bench.report import Report, Section, progress
from bench.server import Server
from bench.settings import BenchSettings
from bench.usage_load import build_rollups, load_usage_events
from drawdown.db.engine import Database
from drawdown.db.tables import events, ledger_entries

__all__ = ["StorageFloor", "ingest", "reads", "record_memory", "usage"]

INGEST_PATH = "/v1/events/ingest"
READ_TARGETS_PER_CLIENT = 1000  # distinct requests each client cycles through
HELD_CUSTOMERS = 200  # customers with active holds in the access-with-holds target
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
            "table fill",
            "events",
            "seconds",
            "events/s",
            "method",
        )
        self.section.notes.append(
            "Same schema, indexes and foreign keys (alembic upgrade), rows built before the "
            "clock starts; each batch committed. Ratios below divide by the mean of the runs."
        )
        self.section.notes.append(
            "'design' rows: per batch the rows ingest writes (events, one ledger entry per "
            "event, one UPDATE per touched account and grant, 4 rollup upserts per meter, "
            "customer and 15-minute bucket), raw, in one transaction (bench/design_floor.py). "
            "'table fill' is the events already in the floor's table when that run started "
            "(the SQLite floor falls as the table grows)."
        )
        self.db = FloorDb(url, settings.customers)
        self.rates: dict[int | str, list[float]] = {1000: [], 100: [], "design": []}
        self.fill = 0

    def measure(self, when: str) -> None:
        method = "COPY (psycopg 3)" if self.settings.is_pg else "executemany, WAL, sync=FULL"
        count = self.settings.floor_events
        customers = self.settings.customers
        for batch_size, total in ((1000, count), (100, count // 3)):
            label = f"floor-{when}-{batch_size}".replace(" ", "-")
            batches = event_batches(label, total, batch_size, customers, _now())
            rows = prepare(self.db, batches)
            fill = self.fill
            n, seconds = run_floor(self.url, rows)
            self.fill += n
            self.rates[batch_size].append(n / seconds)
            self.section.add(when, batch_size, f"{fill:,}", n, seconds, n / seconds, method)
            progress(f"floor {when}, batches of {batch_size}: {n / seconds:,.0f} events/s")
        label = f"design-{when}".replace(" ", "-")
        design = prepare_design(self.db, event_batches(label, count // 2, 1000, customers, _now()))
        fill = self.fill
        n, seconds = run_design_floor(self.db, design)
        self.fill += n
        self.rates["design"].append(n / seconds)
        self.section.add(when, "1,000 design", f"{fill:,}", n, seconds, n / seconds, method)
        progress(f"floor {when}, the design's rows: {n / seconds:,.0f} events/s")
        label = f"design-bare-{when}".replace(" ", "-")
        bare = prepare_design(self.db, event_batches(label, count // 2, 1000, customers, _now()))
        fill = self.fill
        n, seconds = run_design_floor(self.db, bare, rollups=False)
        self.fill += n
        row = ("1,000 design without rollups", f"{fill:,}", n, seconds, n / seconds, method)
        self.section.add(when, *row)

    def mean(self, batch_size: int | str) -> float:
        return statistics.fmean(self.rates[batch_size])


def record_memory(
    section: Section, label: str, server: Server, report: Report | None = None
) -> None:
    total, each = server.rss_mib()
    section.add(label, total, " / ".join(f"{value:.0f}" for value in each))
    if report is not None:
        report.figures["worker RSS after load"] = " / ".join(f"{v:.0f}" for v in each) + " MiB"


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
) -> dict[int, float]:
    """The access check beside /healthz; returns /healthz req/s by client count."""
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
        targets += _held_target(settings, server, fixture, paths, section, meter)
    healthz: dict[int, float] = {}
    ratio: dict[str, dict[int, float]] = {}
    p99: dict[str, dict[int, float]] = {}
    for label, urls in targets:
        for clients in (1, 4):
            result = _read_run(settings, server, fixture, section, rng, label, urls, clients)
            healthz.setdefault(clients, result.requests_per_s)
            ratio.setdefault(label, {})[clients] = result.requests_per_s / healthz[clients]
            p99.setdefault(label, {})[clients] = result.p99_ms
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
    section.notes.append(CPU_NOTE)
    if len(targets) > 1:
        plain = targets[1][0]
        report.figures["access vs /healthz (x1, x4)"] = (
            f"{ratio[plain][1]:.0%} / {ratio[plain][4]:.0%}"
        )
        report.figures["access p99 x4, idle / during ingest"] = f"{p99[plain][4]:.1f} / ?"
        fixture.access_urls = targets[1][1]
    if len(targets) > 2:
        held = targets[2][0]
        report.figures[HELD_RATIO] = f"{ratio[held][1]:.0%} / {ratio[held][4]:.0%}"
        report.figures[HELD_P99] = f"{p99[held][4]:.1f} ms"
    return healthz


HELD_RATIO = f"access with {HOLDS_EACH} active holds vs /healthz (x1, x4)"
HELD_P99 = f"access with {HOLDS_EACH} active holds p99 x4"


def _read_run(
    settings: BenchSettings,
    server: Server,
    fixture: TenantFixture,
    section: Section,
    rng: random.Random,
    label: str,
    urls: list[str],
    clients: int,
) -> LoadResult:
    per_client = [
        [Request("GET", rng.choice(urls)) for _ in range(READ_TARGETS_PER_CLIENT)]
        for _ in range(clients)
    ]
    profile = settings.profile and clients == 4 and label != "GET /healthz"
    with (
        profiled(profile, server.worker_pids(), f"{settings.backend}-access"),
        _balance(server, section, f"{label} x{clients}", clients),
    ):
        return run_load(
            server.url,
            fixture.headers,
            per_client,
            settings.read_duration_s,
            server.cpu_s,
            WARMUP,
            cycle=True,
        )


def _held_target(
    settings: BenchSettings,
    server: Server,
    fixture: TenantFixture,
    paths: set[str],
    section: Section,
    meter: str,
) -> list[tuple[str, list[str]]]:
    """The access check of customers who each have active holds (the check sums them in
    its one query), beside the plain one."""
    if "/v1/holds" not in paths or fixture.currency_id is None:
        section.notes.append("MISSING: POST /v1/holds is not on this build.")
        return []
    count = min(HELD_CUSTOMERS, settings.customers)
    progress(f"placing {HOLDS_EACH} holds on each of {count} customers")
    place_holds(server.url, fixture, count)
    section.notes.append(
        f"With holds: {count} customers of their own, each with a grant of 100.00 and "
        f"{HOLDS_EACH} active holds of 1.50 (timeout 24 h); the plain rows use the main "
        "fixture's customers, who have none."
    )
    label = f"GET /v1/customers/{{id}}/access?meter={meter}, {HOLDS_EACH} active holds"
    return [(label, [f"/v1/customers/{c}/access?meter={meter}" for c in fixture.held_customer_ids])]


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
        "vs design floor",
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
                "",  # the ratios, once the floor is measured again
                "",
                _cores(result),
                result.errors,
            )
            measured.append((section.rows[-1], batch_size, result.units_per_s))
            if batch_size == 1000 and clients == 4:
                cpu_us = 1e6 / _per_cpu_s(result)
                report.figures["server CPU per event, b1000 x4"] = f"{cpu_us:.0f} us"
            progress(
                f"ingest batch {batch_size} x{clients}: {result.units_per_s:,.0f} events/s "
                f"{result.first_error}"
            )
    _access_during_ingest(settings, server, fixture, section, report)
    section.notes.extend(_ingest_notes(server, fixture))
    floor.measure("after ingest")
    ratios: dict[str, list[str]] = {"events": [], "design": []}
    for row, batch_size, rate in measured:
        row[section.columns.index("vs floor")] = f"{rate / floor.mean(batch_size):.0%}"
        if batch_size == 1000:
            design = f"{rate / floor.mean('design'):.0%}"
            row[section.columns.index("vs design floor")] = design
            ratios["events"].append(row[section.columns.index("vs floor")])
            ratios["design"].append(design)
    report.figures["ingest b1000 / events-only floor (x1, x4)"] = " / ".join(ratios["events"])
    report.figures["ingest b1000 / floor of the rows the design writes (x1, x4)"] = " / ".join(
        ratios["design"]
    )


def _access_during_ingest(
    settings: BenchSettings,
    server: Server,
    fixture: TenantFixture,
    section: Section,
    report: Report,
) -> None:
    """Access checks at 4 clients while one client ingests batches of 1000."""
    if not fixture.access_urls:
        return
    rng = random.Random("during")
    reads = [
        [Request("GET", rng.choice(fixture.access_urls)) for _ in range(READ_TARGETS_PER_CLIENT)]
        for _ in range(4)
    ]
    writes = [_ingest_requests("during-ingest", settings.ingest_events, 1000, settings.customers)]
    duration_s = settings.read_duration_s
    with ThreadPoolExecutor(1) as pool:
        background = pool.submit(
            run_load, server.url, fixture.headers, writes, duration_s + 2, server.cpu_s, WARMUP
        )
        time.sleep(1.0)  # the ingest client is past its warm-up
        result = run_load(
            server.url, fixture.headers, reads, duration_s, server.cpu_s, WARMUP, cycle=True
        )
        ingest_result = background.result()
    section.notes.append(
        f"During ingest (1 client, batches of 1000, {ingest_result.units_per_s:,.0f} events/s): "
        f"access x4 {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, errors {result.errors}."
    )
    key = "access p99 x4, idle / during ingest"
    idle = report.figures.get(key, "? / ?").split(" / ")[0]
    report.figures[key] = f"{idle} / {result.p99_ms:.1f} ms"


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
    settings: BenchSettings,
    url: str,
    server: Server,
    paths: set[str],
    report: Report,
    healthz: dict[int, float],
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
        balance = _balance_section(report)
        _ingest_few(client, METERS[1].event_name, settings.customers, per_customer=10)
        few = _balance_reads(
            settings, server, headers, balance, healthz, customer_ids, meter_id, 10
        )
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
        raw_meter = uuid.UUID(meter_id.split("_", 1)[1])
        rollup_s = build_rollups(url, organization_id, raw_meter, METERS[1].event_name)
        section.notes.append(
            f"The generated events bypassed ingest, so their rollups were built after the load "
            f"in {rollup_s:.1f} s (finest rows by one SQL aggregate, coarser ones by drawdown's "
            "own derivation); ingested events maintain them in the ingest transaction."
        )
        _usage_queries(client, report, section, meter_id, customer_ids[0], span)
        per_customer = 10 + settings.usage_events // max(1, settings.customers)
        many = _balance_reads(
            settings, server, headers, balance, healthz, customer_ids, meter_id, per_customer
        )
        name = "Polar customer meters x4 vs /healthz, at 10 / at many events per customer"
        report.figures[name] = f"{few:.0%} / {many:.0%} (at {per_customer:,})"


def _ingest_few(client: httpx.Client, name: str, customers: int, per_customer: int) -> None:
    """``per_customer`` events for each customer through the API, in batches of 1000."""
    now = _now()
    batch: list[dict[str, object]] = []
    for k in range(per_customer):
        for index in range(customers):
            batch.append(
                {
                    "identifier": f"few-{k}-{index}",
                    "name": name,
                    "external_customer_id": f"bench-cus-{index:05d}",
                    "timestamp": (now - timedelta(minutes=k)).isoformat(),
                    "properties": {"tokens": 1 + (k * 31 + index) % 97},
                }
            )
            if len(batch) == 1000:
                client.post(INGEST_PATH, json={"events": batch}).raise_for_status()
                batch = []
    if batch:
        client.post(INGEST_PATH, json={"events": batch}).raise_for_status()


def _balance_section(report: Report) -> Section:
    return report.section(
        "Balance reads by history length (Polar customer meters: consumed units + balance)",
        "events per customer",
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


def _balance_reads(
    settings: BenchSettings,
    server: Server,
    headers: dict[str, str],
    section: Section,
    healthz: dict[int, float],
    customer_ids: list[str],
    meter_id: str,
    per_customer: int,
) -> float:
    """Reads at 1 and 4 clients; the 4-client rate as a share of /healthz's."""
    share = float("nan")
    rng = random.Random("balance")
    meter = meter_id.split("_", 1)[1]
    urls = [
        f"/polar/v1/customer-meters/?customer_id={cid.split('_', 1)[1]}&meter_id={meter}"
        for cid in customer_ids
    ]
    for clients in (1, 4):
        per_client = [
            [Request("GET", rng.choice(urls)) for _ in range(READ_TARGETS_PER_CLIENT)]
            for _ in range(clients)
        ]
        result = run_load(
            server.url,
            headers,
            per_client,
            settings.read_duration_s,
            server.cpu_s,
            WARMUP,
            cycle=True,
        )
        reference = healthz.get(clients)
        section.add(
            f"{per_customer:,}",
            clients,
            result.requests,
            result.requests_per_s,
            _per_cpu_s(result),
            result.p50_ms,
            result.p99_ms,
            f"{result.requests_per_s / reference:.0%}" if reference else "",
            _cores(result),
            result.errors,
        )
        rate = result.requests_per_s
        progress(f"customer meters at {per_customer} events x{clients}: {rate:,.0f} req/s")
        if reference and clients == 4:
            share = rate / reference
    return share


def _usage_queries(
    client: httpx.Client,
    report: Report,
    section: Section,
    meter_id: str,
    customer_id: str,
    span: tuple[datetime, datetime],
) -> None:
    def stamp(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    month = {"from": stamp(span[0]), "to": stamp(span[1])}
    day = {"from": stamp(span[1] - timedelta(days=1)), "to": stamp(span[1])}
    medians: dict[str, float] = {}
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
        medians[label] = statistics.median(later) * 1000
        section.add(
            label, buckets, timings[0] * 1000, statistics.median(later) * 1000, len(timings)
        )
        progress(f"usage {label}: {timings[0] * 1000:.0f} ms first")
    if len(medians) == len(queries):
        names = [label for label, _ in queries]
        report.figures["usage 30 days all customers (by day, by hour) / one customer"] = (
            f"{medians[names[0]]:.0f}, {medians[names[1]]:.0f} / "
            f"{max(medians[names[3]], medians[names[4]]):.1f} ms (medians)"
        )
