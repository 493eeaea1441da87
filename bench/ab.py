"""A/B comparison of server settings on one database, interleaved (A B A B ...) so that a
noisy shared machine affects both sides alike: ``python -m bench.ab sqlite`` with
``BENCH_AB_A`` / ``BENCH_AB_B`` holding space-separated NAME=VALUE environment settings for
each side's ``drawdown serve`` (e.g. ``DRAWDOWN_WORKERS=1``)."""

from __future__ import annotations

import os
import random
import sys
from datetime import UTC, datetime

import httpx

from bench import machine
from bench.dbs import fresh_database
from bench.fixtures import TenantFixture, make_key, populate
from bench.load import LoadResult, Request, run_load
from bench.sections import _ingest_requests
from bench.server import Server
from bench.settings import Backend, load

__all__ = ["main"]


def _env(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split())


def _line(name: str, what: str, result: LoadResult, unit: str) -> str:
    wall = result.wall_s
    other = result.machine_cpu_s - result.server_cpu_s - result.client_cpu_s
    return (
        f"{name} {what:14} {result.units_per_s:9,.0f} {unit}  p50 {result.p50_ms:8.2f} ms  "
        f"p99 {result.p99_ms:8.2f} ms  server {result.server_cpu_s / wall:.2f} cores, "
        f"postgres+other {other / wall:.2f}"
    )


def _measure(name: str, server: Server, fixture: TenantFixture, label: str) -> None:
    settings = load("sqlite")  # only the sizes are read here
    rng = random.Random(label)
    access = [f"/v1/customers/{c}/access?meter=bench.tokens" for c in fixture.customer_ids]
    reads = [[Request("GET", rng.choice(access)) for _ in range(500)] for _ in range(4)]
    result = run_load(
        server.url, fixture.headers, reads, settings.read_duration_s, server.cpu_s, cycle=True
    )
    print(_line(name, "access x4", result, "req/s"), flush=True)
    per_client = settings.ingest_events // 4
    batches = [
        _ingest_requests(f"{label}-{k}", per_client, 1000, settings.customers) for k in range(4)
    ]
    result = run_load(server.url, fixture.headers, batches, settings.ingest_cap_s, server.cpu_s)
    workers = " / ".join(f"{rss:.0f}" for rss in server.rss_mib()[1])
    print(_line(name, "ingest 1000x4", result, "ev/s") + f", RSS {workers} MiB", flush=True)


def main() -> None:
    backend: Backend = "postgresql" if sys.argv[1:2] in (["pg"], ["postgresql"]) else "sqlite"
    settings = load(backend)
    sides = {side: _env(os.environ.get(f"BENCH_AB_{side}", "")) for side in "AB"}
    rounds = int(os.environ.get("BENCH_AB_ROUNDS", 2))
    print(f"{machine.load()}; A={sides['A']} B={sides['B']}")
    with fresh_database(settings, "ab") as url:
        org, secret = make_key(url, "ab")
        fixture = TenantFixture(org, secret)
        server = Server(url, settings.workers)
        paths = set(httpx.get(server.url + "/openapi.json").json()["paths"])
        populate(server.url, fixture, settings.customers, paths, datetime.now(UTC))
        server.stop()
        for round_ in range(rounds):
            for name, env in sides.items():
                os.environ.update(env)
                server = Server(url, int(env.get("DRAWDOWN_WORKERS", settings.workers)))
                try:
                    _measure(name, server, fixture, f"ab-{round_}-{name}")
                finally:
                    server.stop()
                    for key in env:
                        os.environ.pop(key, None)


if __name__ == "__main__":
    main()
