"""Webhook figures: what one enabled endpoint subscribed to every type costs ingest (ratio
to no endpoint, measured interleaved in the same run) and how long an event takes from
commit to a receiver on 127.0.0.1.

Two loads: the plain ingest workload (few events cross anything, so few webhook events),
and an event-heavy one where 5% of the events are negative usage (each makes a grant:
``credit_grant.created``, balances recover and deplete again) plus an organization-wide
alert, so the outbox, the alert evaluation and the worker all have real work."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

from bench.data import event_batches
from bench.fixtures import TenantFixture
from bench.load import Request, run_load
from bench.report import Report, progress
from bench.server import Server
from bench.settings import BenchSettings

__all__ = ["webhooks"]

INGEST_PATH = "/v1/events/ingest"
ROUNDS = 3
CLIENTS = 4
BATCH = 1000
WARMUP = 2


class CountingReceiver:
    """Answers 200 to every POST and notes when each ``webhook-id`` arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.count = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as a production receiver (nginx, uvicorn) answers: the worker
            # reuses its connections instead of opening one per delivery.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.count += 1
                    receiver.arrivals.setdefault(self.headers["webhook-id"], time.perf_counter())
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def wait_quiet(self, quiet_s: float = 1.0, cap_s: float = 60.0) -> None:
        """Until nothing new arrived for ``quiet_s`` (bounded by ``cap_s``)."""
        deadline = time.monotonic() + cap_s
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if self.count != last:
                last, since = self.count, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.05)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _batch_size(events_per_client: int) -> int:
    """1000, or smaller for tiny runs (the harness smoke test) so warm-up stays small."""
    return max(10, min(BATCH, events_per_client // 4))


def _requests(label: str, events: int, customers: int, heavy: bool) -> list[Request]:
    batch_size = _batch_size(events)
    now = datetime.now(UTC)
    batches = event_batches(label, events + WARMUP * batch_size, batch_size, customers, now)
    out = []
    for batch in batches:
        if heavy:
            for i in range(0, len(batch), 20):  # 5%: negative usage grants credits back
                event = batch[i]
                event["name"] = "bench.tokens"
                event["properties"] = {"tokens": -5000, "model": "small"}
        out.append(Request("POST", INGEST_PATH, orjson.dumps({"events": batch}), len(batch)))
    return out


@contextmanager
def _endpoint(server: Server, fixture: TenantFixture, url: str, types: list[str]) -> Iterator[str]:
    created = httpx.post(
        server.url + "/v1/webhooks/endpoints",
        json={"url": url, "event_types": types},
        headers=fixture.headers,
    )
    created.raise_for_status()
    endpoint_id = str(created.json()["id"])
    try:
        yield endpoint_id
    finally:
        httpx.delete(f"{server.url}/v1/webhooks/endpoints/{endpoint_id}", headers=fixture.headers)


def _one_load(
    settings: BenchSettings,
    server: Server,
    fixture: TenantFixture,
    report: Report,
    receiver: CountingReceiver,
    heavy: bool,
) -> None:
    name = "event-heavy ingest" if heavy else "plain ingest"
    section = report.section(
        f"Webhook outbox cost, {name} (batch {_batch_size(settings.ingest_events // CLIENTS)}, "
        f"{CLIENTS} clients)",
        "round",
        "endpoints",
        "events",
        "events/s",
        "p99 ms",
        "webhooks delivered",
    )
    rates: dict[bool, list[float]] = {False: [], True: []}
    per_client = settings.ingest_events // CLIENTS
    for round_ in range(ROUNDS):
        for with_endpoint in (False, True):
            label = f"wh-{int(heavy)}-{round_}-{int(with_endpoint)}"
            load = [
                _requests(f"{label}-{k}", per_client, settings.customers, heavy)
                for k in range(CLIENTS)
            ]
            before = receiver.count
            if with_endpoint:
                with _endpoint(server, fixture, receiver.url, ["*"]):
                    result = run_load(
                        server.url, fixture.headers, load, settings.ingest_cap_s, server.cpu_s
                    )
                    receiver.wait_quiet()
            else:
                result = run_load(
                    server.url, fixture.headers, load, settings.ingest_cap_s, server.cpu_s
                )
            rates[with_endpoint].append(result.units_per_s)
            delivered = receiver.count - before
            section.add(
                round_ + 1,
                1 if with_endpoint else 0,
                result.units,
                result.units_per_s,
                result.p99_ms,
                delivered,
            )
            progress(f"{name} round {round_ + 1} endpoint={with_endpoint}: "
                     f"{result.units_per_s:,.0f} events/s, {delivered} webhooks")  # fmt: skip
    with_rate, without = statistics.mean(rates[True]), statistics.mean(rates[False])
    section.notes.append(
        f"with one endpoint subscribed to every type: {with_rate / without:.1%} of the "
        f"events/s without ({with_rate:,.0f} vs {without:,.0f}; target: at least 95%). "
        "Rounds alternate without/with so drift hits both."
    )


def _latency(probes: int, server: Server, fixture: TenantFixture, report: Report) -> None:
    receiver = CountingReceiver()
    section = report.section(
        "Webhook delivery latency (commit to receiver, customer.created, sequential)",
        "probes",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
    )
    waits: list[float] = []
    try:
        with (
            _endpoint(server, fixture, receiver.url, ["customer.created"]),
            httpx.Client(base_url=server.url, headers=fixture.headers) as client,
        ):
            for i in range(probes):
                body = {"external_id": f"wh-latency-{time.time_ns()}-{i}"}
                response = client.post("/v1/customers", json=body)
                committed = time.perf_counter()  # the response follows the commit
                response.raise_for_status()
                deadline = committed + 10
                while len(receiver.arrivals) <= i and time.perf_counter() < deadline:
                    time.sleep(0.001)
                arrived = sorted(receiver.arrivals.values())
                if len(arrived) > i:
                    waits.append((arrived[-1] - committed) * 1000)
    finally:
        receiver.close()
    if waits:
        ordered = sorted(waits)
        p90 = ordered[round(0.9 * (len(ordered) - 1))]
        p99 = ordered[round(0.99 * (len(ordered) - 1))]
        section.add(len(waits), statistics.median(ordered), p90, p99, ordered[-1])
    section.notes.append(
        "The process that commits an event wakes its own delivery worker at once; workers of "
        "other processes poll every DRAWDOWN_WEBHOOK_POLL_INTERVAL_S (0.2 s)."
    )


def webhooks(
    settings: BenchSettings, server: Server, fixture: TenantFixture, report: Report
) -> None:
    """Both loads, then the latency probe."""
    if "/v1/webhooks/endpoints" not in httpx.get(server.url + "/openapi.json").json()["paths"]:
        report.section("Webhooks").notes.append("MISSING: no /v1/webhooks on this build.")
        return
    receiver = CountingReceiver()
    try:
        _one_load(settings, server, fixture, report, receiver, heavy=False)
        alert = httpx.post(
            server.url + "/v1/alerts",
            json={
                "currency_id": fixture.currency_id,
                "thresholds": [{"code": "low", "value": "20"}, {"code": "empty", "value": "0"}],
                "rearm_margin": "5",
            },
            headers=fixture.headers,
        )
        alert.raise_for_status()
        _one_load(settings, server, fixture, report, receiver, heavy=True)
    finally:
        receiver.close()
    _latency(settings.webhook_probes, server, fixture, report)
