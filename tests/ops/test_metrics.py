"""/metrics: off without DRAWDOWN_METRICS_TOKEN, behind that bearer token with it; counts by
route template and outcome (never an id in a label); right with several worker processes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from drawdown.app import create_app
from drawdown.clock import ManualClock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant
from tests.credits.conftest import Setup
from tests.sdk.conftest import start_server

TOKEN = "test-metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_without_a_token(api: Any) -> None:
    assert api.get("/metrics").status_code == 404
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]


@pytest.fixture
def metered(database: Database, clock: ManualClock) -> Any:
    settings = Settings(database_url=database.url, run_clock_in_server=False, metrics_token=TOKEN)
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        yield client


def test_metrics_need_the_token(metered: TestClient) -> None:
    assert metered.get("/metrics").status_code == 401
    wrong = metered.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthenticated"
    ok = metered.get("/metrics", headers=AUTH)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
    assert value(ok.text, "drawdown_build_info", version="0.1.0") == 1


def test_metrics_count_what_happened(
    metered: TestClient, database: Database, clock: ManualClock
) -> None:
    with database.write() as conn:
        org = keys.create_organization(conn, "metrics org")
        created = keys.create_key(conn, Tenant(org, "test"), "full")
    from tests.conftest import Api

    api = Api(metered, created.secret, created.tenant)
    before = metered.get("/metrics", headers=AUTH).text
    setup = Setup(api, database)
    setup.grant("10")
    expiring = setup.grant("30", expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    api.ok("GET", f"/v1/customers/{setup.customer['id']}")
    event = {"name": "api_calls", "external_customer_id": "c1", "properties": {"units": 2}}
    api.ok("POST", "/v1/events/ingest", json={"events": [{**event, "identifier": "m1"}]})
    api.ok("POST", "/v1/events/ingest", json={"events": [{**event, "identifier": "m1"}]})
    bad = {**event, "identifier": "m2", "customer_id": "cus_nope"}
    api.ok("POST", "/v1/events/ingest", 422, json={"events": [bad, {**event, "identifier": "m3"}]})
    polar = {"name": "api_calls", "external_customer_id": "c1", "metadata": {"units": 1}}
    api.ok("POST", "/polar/v1/events/ingest", json={"events": [polar]})
    clock.advance(timedelta(hours=2))  # the expiry is due; no clock runs in this app
    after = metered.get("/metrics", headers=AUTH).text

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("drawdown_events_ingested_total", outcome="inserted", surface="native") == 1
    assert delta("drawdown_events_ingested_total", outcome="duplicate", surface="native") == 1
    assert delta("drawdown_events_ingested_total", outcome="rejected", surface="native") == 2
    assert delta("drawdown_events_ingested_total", outcome="inserted", surface="polar") == 1
    assert delta("drawdown_ingest_batch_size_count", surface="native") == 2
    assert delta("drawdown_drawdown_duration_seconds_count") == 2
    assert delta("drawdown_grants_total", action="created") == 2
    assert delta("drawdown_ledger_entries_total", type="grant") == 2
    assert delta("drawdown_ledger_entries_total", type="consumption") == 2
    route = {"method": "GET", "route": "/v1/customers/{customer_id}"}
    assert delta("drawdown_http_requests_total", status_class="2xx", **route) == 1
    assert delta("drawdown_http_request_duration_seconds_count", **route) == 1
    assert delta("drawdown_http_requests_total", method="POST", route="/v1/events/ingest",
                 status_class="4xx") == 1  # fmt: skip
    assert 3590 <= value(after, "drawdown_clock_lag_seconds") <= 3700  # due 1 h ago
    assert "drawdown_db_pool_connections" in after
    # Bounded labels: no customer, grant or key id anywhere in the exposition.
    for secret_or_id in (setup.customer["id"], expiring["id"], created.secret, "cus_", "cgr_"):
        assert secret_or_id not in after


def test_metrics_add_up_across_worker_processes(database: Database, tmp_path: Path) -> None:
    env = {"DRAWDOWN_WORKERS": "2", "DRAWDOWN_METRICS_TOKEN": TOKEN}
    server = start_server(database.url, tmp_path, env)
    route = {"method": "GET", "route": "/healthz", "status_class": "2xx"}
    try:
        first = httpx.get(server.url + "/metrics", headers=AUTH, timeout=10).text
        for _ in range(30):  # a new connection each time: both workers take some
            assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        scrapes = [
            httpx.get(server.url + "/metrics", headers=AUTH, timeout=10).text for _ in range(6)
        ]
    finally:
        server.stop()
    # Whichever worker answers the scrape reports every worker's requests.
    base = value(first, "drawdown_http_requests_total", **route)  # start_server's probes
    counts = [value(text, "drawdown_http_requests_total", **route) for text in scrapes]
    # (the probe start_server made last may be counted just after the first scrape)
    assert len(set(counts)) == 1 and base + 30 <= counts[0] <= base + 31
    assert all(value(t, "drawdown_build_info", version="0.1.0") == 1 for t in scrapes)
