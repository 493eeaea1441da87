"""Concurrency: several OS processes ingest for the same customers against one PostgreSQL
database at once. Afterwards the ledger balances exactly and no event is applied twice."""

from __future__ import annotations

import multiprocessing
import random
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.tables import events, ledger_entries
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger

PROCESSES = 4
BATCHES_PER_PROCESS = 8
EVENTS_PER_BATCH = 40
CUSTOMERS = [f"cc{i}" for i in range(5)]
# Identifiers come from a pool smaller than what is sent, so processes collide on duplicates.
IDENTIFIER_POOL = PROCESSES * BATCHES_PER_PROCESS * EVENTS_PER_BATCH // 2


def units_of(identifier: int) -> int:
    return identifier % 7 + 1


def customer_of(identifier: int) -> str:
    return CUSTOMERS[identifier % len(CUSTOMERS)]


def ingest_worker(url: str, secret: str, seed: int) -> list[tuple[int, int]]:
    settings = Settings(database_url=url, run_clock_in_server=False, run_webhooks_in_server=False)
    app = create_app(settings)
    rng = random.Random(seed)
    results = []
    with TestClient(app) as client:
        for _ in range(BATCHES_PER_PROCESS):
            picks = rng.sample(range(IDENTIFIER_POOL), EVENTS_PER_BATCH)
            batch = [
                {
                    "identifier": f"id-{i}",
                    "name": "api_calls",
                    "external_customer_id": customer_of(i),
                    "properties": {"units": units_of(i)},
                }
                for i in picks
            ]
            response = client.post(
                "/v1/events/ingest",
                json={"events": batch},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            results.append((body["inserted"], body["duplicates"]))
    return results


@pytest.mark.slow
def test_processes_ingesting_for_the_same_customers(api: Any, database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("multi-process row locking is a PostgreSQL test; SQLite has one writer")
    setup = Setup(api, database)
    ids = {}
    for name in CUSTOMERS:
        ids[name] = api.ok("POST", "/v1/customers", 201, json={"external_id": name})["id"]
        for amount, priority in (("20", 10), ("30", 50)):
            api.ok(
                "POST",
                "/v1/credit-grants",
                201,
                json={
                    "customer_id": ids[name],
                    "currency_id": setup.currency["id"],
                    "amount": amount,
                    "priority": priority,
                },
            )

    url = database.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        outcomes = pool.starmap(
            ingest_worker, [(url, api.secret, seed) for seed in range(PROCESSES)]
        )

    inserted = sum(i for batches in outcomes for i, _ in batches)
    duplicates = sum(d for batches in outcomes for _, d in batches)
    assert inserted + duplicates == PROCESSES * BATCHES_PER_PROCESS * EVENTS_PER_BATCH
    with database.read() as conn:
        stored = {
            row.identifier: row.id for row in conn.execute(select(events.c.identifier, events.c.id))
        }
        entries = list(
            conn.execute(select(ledger_entries).where(ledger_entries.c.event_id.is_not(None)))
        )
    assert len(stored) == inserted  # every identifier stored once

    charged: dict[Any, int] = defaultdict(int)
    for entry in entries:
        charged[entry.event_id] += -entry.amount
    # Each stored event drawn down exactly once, for exactly its units (x 100 base units).
    assert {eid: charged[eid] for eid in stored.values()} == {
        eid: units_of(int(ident.removeprefix("id-"))) * 100 for ident, eid in stored.items()
    }
    check_ledger(database)

    for name in CUSTOMERS:
        used = sum(
            units_of(int(i.removeprefix("id-")))
            for i in stored
            if customer_of(int(i.removeprefix("id-"))) == name
        )
        balance = api.ok("GET", f"/v1/customers/{ids[name]}/balances")["data"][0]
        assert int(balance["available"].split(".")[0]) == max(50 - used, 0)
        assert int(balance["debt"].split(".")[0]) == max(used - 50, 0)


def test_customer_created_while_its_events_are_being_ingested(
    api: Any, database: Database, settings: Any, clock: Any
) -> None:
    """Claiming under concurrency: the creation waits for the in-flight batch, then claims it."""
    import threading

    from drawdown import flows as events

    if database.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: the race cannot happen")
    setup = Setup(api, database)
    results: list[Any] = []
    creator = threading.Thread(
        target=lambda: results.append(api.post("/v1/customers", json={"external_id": "racer"}))
    )
    event = {
        "identifier": "race-1",
        "name": "api_calls",
        "external_customer_id": "racer",
        "properties": {"units": 2},
    }
    with database.write() as conn:
        assert events.ingest(conn, api.tenant, [event], settings, clock.now()).inserted == 1
        creator.start()
        creator.join(0.5)
        assert creator.is_alive(), "the creation should wait for the ingest to commit"
    creator.join(10)
    assert results[0].status_code == 201, results[0].text
    balances = api.ok("GET", f"/v1/customers/{results[0].json()['id']}/balances")["data"]
    assert [(b["currency_id"], b["debt"]) for b in balances] == [(setup.currency["id"], "2.00")]
    check_ledger(database)
