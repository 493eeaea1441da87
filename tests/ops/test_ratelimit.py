"""Per-key rate limits: requests and ingested events, token buckets per process; a refused
call gets 429 with Retry-After and RateLimit headers in its surface's error shape, stores
nothing, and other keys are not affected; the SDK waits and gets through."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

import drawdown
from drawdown.app import create_app
from drawdown.clock import ManualClock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.http.ratelimit import Limits, TokenBuckets
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant
from tests.conftest import Api
from tests.sdk.conftest import start_server


def test_token_bucket_refills_at_its_rate() -> None:
    buckets = TokenBuckets(rate_per_s=2, burst=3)
    key, other = uuid.uuid4(), uuid.uuid4()
    assert [buckets.take(key, 1, now_s=10.0)[0] for _ in range(3)] == [0, 0, 0]
    wait_s, left = buckets.take(key, 1, now_s=10.0)
    assert wait_s == pytest.approx(0.5) and left == 0
    assert buckets.take(other, 1, now_s=10.0)[0] == 0  # each key has its own bucket
    assert buckets.take(key, 1, now_s=10.5)[0] == 0  # refilled one token in 0.5 s
    assert buckets.take(key, 3, now_s=100.0)[0] == 0  # never more than the burst
    assert buckets.take(key, 1, now_s=100.0)[0] > 0


def test_limits_are_divided_among_worker_processes() -> None:
    limits = Limits(requests_per_s=100, burst=40, events_per_s=1000, workers=4, batch=1000)
    assert limits.requests is not None and limits.events is not None
    assert (limits.requests.rate_per_s, limits.requests.burst) == (25, 10)
    assert limits.events.rate_per_s == 250 and limits.events.burst == 1000  # a batch fits
    off = Limits(requests_per_s=0, burst=1, events_per_s=0, workers=1, batch=10)
    assert off.requests is None and off.events is None


def _api(client: TestClient, database: Database) -> Api:
    with database.write() as conn:
        org = keys.create_organization(conn, "limited org")
        created = keys.create_key(conn, Tenant(org, "test"), "full")
    return Api(client, created.secret, created.tenant)


def test_requests_over_the_limit_get_429(database: Database, clock: ManualClock) -> None:
    settings = Settings(
        database_url=database.url, run_clock_in_server=False,
        rate_limit_requests_per_s=0.25, rate_limit_burst=3,
    )  # fmt: skip
    # A token comes back after 4 s: the calls below, on a loaded machine, take well under that
    # (at 1 token/s the Polar call once found the bucket refilled).
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        api, other = _api(client, database), _api(client, database)
        assert [api.get("/v1/customers").status_code for _ in range(3)] == [200] * 3
        refused = api.get("/v1/customers")
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["ratelimit-limit"] == "3"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert refused.headers["x-request-id"]
        assert other.get("/v1/customers").status_code == 200
        polar = api.get("/polar/v1/customers/")
        assert polar.status_code == 429 and "retry-after" in polar.headers
        assert "detail" in polar.json() and "code" not in polar.json()  # Polar's own shape
        time.sleep(4.05)
        assert api.get("/v1/customers").status_code == 200


def test_events_over_the_limit_get_429_and_store_nothing(
    database: Database, clock: ManualClock
) -> None:
    settings = Settings(
        database_url=database.url, run_clock_in_server=False,
        rate_limit_events_per_s=10, max_batch_events=10,
    )  # fmt: skip
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        api = _api(client, database)
        events = [
            {"name": "n", "external_customer_id": "x", "identifier": f"e{i}"} for i in range(8)
        ]
        assert api.post("/v1/events/ingest", json={"events": events}).status_code == 200
        more = [{**event, "identifier": f"m{i}"} for i, event in enumerate(events)]
        refused = api.post("/v1/events/ingest", json={"events": more})
        assert refused.status_code == 429, refused.text
        assert "events per second" in refused.json()["detail"]
        assert api.ok("GET", "/v1/events", params={"limit": 100})["data"].__len__() == 8


def test_the_sdk_waits_and_gets_through(database: Database, tmp_path: Any) -> None:
    with database.write() as conn:
        org = keys.create_organization(conn, "sdk limited org")
        secret = keys.create_key(conn, Tenant(org, "test"), "full").secret
    env = {"DRAWDOWN_RATE_LIMIT_REQUESTS_PER_S": "2", "DRAWDOWN_RATE_LIMIT_BURST": "2"}
    server = start_server(database.url, tmp_path, env)
    try:
        with drawdown.Client(secret, base_url=server.url, backoff_s=0.05) as sdk:
            for i in range(4):  # two over the burst: each waits for its Retry-After
                sdk.customers.create(external_id=f"limited-{i}")
            assert len(sdk.customers.list(limit=10).data) == 4
    finally:
        server.stop()
