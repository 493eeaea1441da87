"""How long the dashboard's customer page takes for a customer with 10,000 ledger entries.

    .venv/bin/python -m bench.dashboard_page [sqlite|postgresql]

Starts a real ``drawdown serve`` on a fresh database, makes one customer with one grant and
9,999 consuming events (10,000 ledger entries) through the SDK, signs in to the dashboard,
then prints: the server's response time for the page's HTML (httpx, sequential), for the
chart's JSON, and, when /usr/bin/chromium exists, the browser's time from navigation to the
page's load event and to the usage chart drawn. Figures only; nothing is asserted."""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

import drawdown
from bench.dbs import fresh_database
from bench.server import Server
from bench.settings import load
from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant

ENTRIES = 10_000
HTML_RUNS = 30
BROWSER_RUNS = 10
CHROMIUM = Path("/usr/bin/chromium")


def _populate(url: str, secret: str) -> str:
    with drawdown.Client(secret, base_url=url) as client:
        customer = client.customers.create(email="bench@example.com", external_id="bench-1")
        meter = client.meters.create(
            name="Bench", event_name="bench_call", aggregation={"func": "count"}
        )
        client.credit_grants.create(customer_id=customer.id, meter_id=meter.id, amount="5000")
        events = (
            {"identifier": f"b-{n}", "name": "bench_call", "customer_id": customer.id}
            for n in range(ENTRIES - 1)
        )
        client.events.ingest_all(events, batch_size=1000)
        return customer.id


def _sign_in(http: httpx.Client, secret: str) -> None:
    page = http.get("/dashboard/login").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    http.post("/dashboard/login", data={"csrf_token": found.group(1), "api_key": secret})


def _timed(http: httpx.Client, path: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        response = http.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text[:300]
    return out


def _summary(label: str, ms: list[float]) -> None:
    ordered = sorted(ms)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    print(
        f"{label:<44} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms   "
        f"max {max(ms):7.1f} ms   ({len(ms)} runs)"
    )


def _browser(url: str, secret: str, path: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(base_url=url, bypass_csp=True)
        page: Any = context.new_page()
        page.goto("/dashboard/login")
        page.get_by_label("API key").fill(secret)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard")
        loads, charts = [], []
        for _ in range(BROWSER_RUNS):
            start = time.perf_counter()
            page.goto(path, wait_until="load")
            loads.append((time.perf_counter() - start) * 1000)
            page.wait_for_function(
                "document.getElementById('customer-usage').dataset.ready === 'true'"
            )
            charts.append((time.perf_counter() - start) * 1000)
        rows = page.locator("#ledger tbody tr").count()
        browser.close()
    _summary("browser: navigation to load event", loads)
    _summary("browser: navigation to usage chart drawn", charts)
    print(f"ledger rows shown on the first page: {rows}")


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    if backend not in ("sqlite", "postgresql"):
        sys.exit("usage: python -m bench.dashboard_page [sqlite|postgresql]")
    settings = load(backend)  # type: ignore[arg-type]
    with fresh_database(settings, "dashboard") as url:
        database = Database(url)
        with database.write() as conn:
            org = keys.create_organization(conn, "bench")
            secret = keys.create_key(conn, Tenant(org, "test"), "full").secret
        database.dispose()
        server = Server(url, workers=1)
        try:
            customer_id = _populate(server.url, secret)
            path = f"/dashboard/customers/{customer_id}"
            with httpx.Client(base_url=server.url, timeout=30) as http:
                _sign_in(http, secret)
                entries = http.get(f"/dashboard/customers/{customer_id}/ledger.csv").text
                print(f"{settings.backend}: customer with {entries.count(chr(10)) - 1} entries")
                _timed(http, path, 3)  # warm up
                _summary("customer page HTML (server, httpx)", _timed(http, path, HTML_RUNS))
                chart = "/dashboard/api/meters/bench_call/quantities?range=30"
                chart += f"&customer_id={customer_id}"
                _summary("usage chart JSON, 30 days by day", _timed(http, chart, HTML_RUNS))
                csv_ms = _timed(http, f"/dashboard/customers/{customer_id}/ledger.csv", 3)
                _summary("ledger CSV export, all entries", csv_ms)
            if CHROMIUM.exists():
                _browser(server.url, secret, path)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
