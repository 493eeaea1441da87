"""``python -m bench [sqlite|postgresql]``: every performance figure in one run."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import httpx

from bench import machine, sections, webhooks
from bench.dbs import fresh_database
from bench.fixtures import TenantFixture, make_key, populate
from bench.report import Report, progress
from bench.server import Server
from bench.settings import Backend, BenchSettings, load

__all__ = ["main"]


def main() -> None:
    backend: Backend = "postgresql" if sys.argv[1:2] in (["pg"], ["postgresql"]) else "sqlite"
    settings = load(backend)
    report = Report(header=machine.describe(settings))
    report.header.append(f"- machine at start: {machine.load()}")
    if settings.profile:
        report.header.append("- PROFILED RUN (py-spy on the server): figures are lowered")
    started = time.perf_counter()
    print("\n".join(report.header), file=sys.stderr)
    with fresh_database(settings, "floor") as floor_url, fresh_database(settings, "main") as url:
        floor = sections.StorageFloor(settings, floor_url, report)
        floor.measure("before server")
        _server_sections(settings, url, report, floor)
    report.targets()
    report.header.append(f"- machine at end: {machine.load()}")
    report.header.append(f"- whole run: {time.perf_counter() - started:.0f} s")
    print(report.render())


def _server_sections(
    settings: BenchSettings, url: str, report: Report, floor: sections.StorageFloor
) -> None:
    organization_id, secret = make_key(url, "bench")
    progress(f"starting drawdown serve ({settings.workers} workers)")
    server = Server(url, settings.workers)
    try:
        memory = report.section(
            "Server memory (RSS from /proc)",
            "when",
            "all processes MiB",
            "each serving process MiB",
        )
        sections.record_memory(memory, "at rest (started, idle)", server)
        paths = set(httpx.get(server.url + "/openapi.json").json()["paths"])
        fixture = TenantFixture(organization_id, secret)
        progress(f"creating {settings.customers} customers, meters and grants through the API")
        t0 = time.perf_counter()
        populate(server.url, fixture, settings.customers, paths, datetime.now(UTC))
        report.header.append(
            f"- fixture: {len(fixture.customer_ids)} customers, {len(fixture.meter_ids)} meters, "
            f"{fixture.grants} grants, made through the API in {time.perf_counter() - t0:.0f} s"
        )
        healthz = sections.reads(settings, server, fixture, paths, report)
        sections.record_memory(memory, "after the access/healthz runs", server)
        if settings.runs("ingest"):
            sections.ingest(settings, server, fixture, paths, report, floor)
            sections.record_memory(memory, "after the ingest runs", server, report)
        if settings.runs("webhooks"):
            webhooks.webhooks(settings, server, fixture, report)
            sections.record_memory(memory, "after the webhook runs", server)
        if settings.runs("usage"):
            sections.usage(settings, url, server, paths, report, healthz)
            sections.record_memory(memory, "after usage queries", server)
    finally:
        server.stop()
