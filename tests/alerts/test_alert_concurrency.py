"""Exactly one event per crossing when 4 processes ingest for the same customers at once
(PostgreSQL): the threshold state is read and written under the account's row lock."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.tables import webhook_events
from tests.credits.conftest import Setup

PROCESSES = 4
BATCHES_PER_PROCESS = 6
EVENTS_PER_BATCH = 30
CUSTOMERS = [f"ac{i}" for i in range(4)]


def ingest_worker(url: str, secret: str, seed: int) -> int:
    settings = Settings(database_url=url, run_clock_in_server=False, run_webhooks_in_server=False)
    sent = 0
    with TestClient(create_app(settings)) as client:
        for batch in range(BATCHES_PER_PROCESS):
            events = [
                {
                    "identifier": f"p{seed}-b{batch}-e{i}",
                    "name": "api_calls",
                    "external_customer_id": CUSTOMERS[i % len(CUSTOMERS)],
                    "properties": {"units": 1},
                }
                for i in range(EVENTS_PER_BATCH)
            ]
            response = client.post(
                "/v1/events/ingest",
                json={"events": events},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert response.status_code == 200, response.text
            sent += len(events)
    return sent


@pytest.mark.slow
def test_one_balance_low_per_crossing_under_concurrent_processes(
    api: Any, database: Database
) -> None:
    if database.is_sqlite:
        pytest.skip("multi-process row locking is a PostgreSQL test; SQLite has one writer")
    setup = Setup(api, database)
    for name in CUSTOMERS:
        customer = api.ok("POST", "/v1/customers", 201, json={"external_id": name})
        api.ok(
            "POST",
            "/v1/credit-grants",
            201,
            json={"customer_id": customer["id"], "currency_id": setup.currency["id"],
                  "amount": "100"},
        )  # fmt: skip
    api.ok(
        "POST",
        "/v1/alerts",
        201,
        json={
            "currency_id": setup.currency["id"],
            "thresholds": [
                {"code": "half", "value": "50"},
                {"code": "tenth", "value": "10"},
                {"code": "zero", "value": "0"},
            ],
        },
    )
    url = database.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        sent = pool.starmap(ingest_worker, [(url, api.secret, seed) for seed in range(PROCESSES)])
    per_customer = sum(sent) // len(CUSTOMERS)
    assert per_customer > 100  # every customer crossed every threshold, into debt

    with database.read() as conn:
        rows = list(conn.execute(select(webhook_events.c.type, webhook_events.c.data)))
    crossed = Counter(
        (row.data["external_customer_id"], threshold["code"])
        for row in rows
        if row.type == "credit.balance_low"
        for threshold in row.data["thresholds"]
    )
    expected = {(name, code): 1 for name in CUSTOMERS for code in ("half", "tenth", "zero")}
    assert dict(crossed) == expected
    for once in ("credit.balance_depleted", "credit.debt_incurred", "credit_grant.depleted"):
        owners = Counter(r.data["external_customer_id"] for r in rows if r.type == once)
        assert dict(owners) == {name: 1 for name in CUSTOMERS}, once
    # Sequences let a receiver order each customer's events.
    lows = [r.data for r in rows if r.type == "credit.balance_low"]
    assert all(isinstance(d["ledger_sequence"], int) and d["ledger_sequence"] > 1 for d in lows)
