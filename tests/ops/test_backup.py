"""``drawdown backup`` under ingest load and ``drawdown restore`` into a fresh database, on
SQLite and PostgreSQL: the copy passes the ledger invariants, holds no half batch and every
batch acknowledged before the backup began; resending every batch to the restored database
gives the same balances as the original."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.tables import credit_accounts, customers, events
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger
from tests.sdk.conftest import DRAWDOWN_BIN, start_server

BATCHES = 24
EVENTS_PER_BATCH = 50
CUSTOMERS = 4


def batch(number: int) -> list[dict[str, Any]]:
    return [
        {
            "identifier": f"k{number}-e{i}",
            "name": "api_calls",
            "external_customer_id": f"b{i % CUSTOMERS}",
            "properties": {"units": 1 + i % 2},
        }
        for i in range(EVENTS_PER_BATCH)
    ]


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DRAWDOWN_DATABASE_URL": url}
    return subprocess.run(
        [DRAWDOWN_BIN, *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def fresh_url(database: Database, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind (nothing migrated into it)."""
    if database.is_sqlite:
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    server = os.environ["DRAWDOWN_TEST_DATABASE_URL"].replace("+psycopg", "")
    name = f"drawdown_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def balances(database: Database) -> dict[str, tuple[int, int]]:
    with database.read() as conn:
        rows = conn.execute(
            select(customers.c.external_id, credit_accounts.c.balance, credit_accounts.c.debt).join(
                credit_accounts, credit_accounts.c.customer_id == customers.c.id
            )
        )
        return {row.external_id: (row.balance, row.debt) for row in rows}


def stored(database: Database) -> Counter[str]:
    with database.read() as conn:
        ids = conn.execute(select(events.c.identifier)).scalars()
        return Counter(identifier.split("-")[0] for identifier in ids)


@pytest.mark.slow
def test_backup_under_load_then_restore(
    api: Any, database: Database, tmp_path: Path, fresh_url: str
) -> None:
    setup = Setup(api, database)
    for i in range(CUSTOMERS):
        customer = api.ok("POST", "/v1/customers", 201, json={"external_id": f"b{i}"})
        body = {"customer_id": customer["id"], "currency_id": setup.currency["id"]}
        api.ok("POST", "/v1/credit-grants", 201, json={**body, "amount": "700"})
    url = database.engine.url.render_as_string(hide_password=False)
    server = start_server(url, tmp_path, {"DRAWDOWN_RUN_CLOCK_IN_SERVER": "false"})
    acked: list[int] = []

    def load() -> None:
        with httpx.Client(base_url=server.url, headers=api.headers, timeout=30) as client:
            for number in range(BATCHES):
                response = client.post("/v1/events/ingest", json={"events": batch(number)})
                assert response.status_code == 200, response.text
                acked.append(number)

    sender = threading.Thread(target=load)
    try:
        sender.start()
        deadline = time.monotonic() + 60
        while len(acked) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        before_backup = set(acked)
        backup = tmp_path / "drawdown.backup"
        done = cli("backup", str(backup), url=url)
        assert done.returncode == 0, done.stderr
        during = len(acked)
        sender.join(120)
    finally:
        server.stop()
    assert during < BATCHES or len(before_backup) < BATCHES, "the backup must overlap the load"
    again = cli("backup", str(backup), url=url)
    assert again.returncode != 0 and "exists" in again.stderr  # never overwritten

    done = cli("restore", str(backup), url=fresh_url)
    assert done.returncode == 0, done.stderr
    refused = cli("restore", str(backup), url=fresh_url)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    restored = Database(fresh_url)
    try:
        check_ledger(restored)
        copy = stored(restored)
        assert set(copy.values()) <= {EVENTS_PER_BATCH}, "a half batch in the backup"
        assert {f"k{n}" for n in before_backup} <= set(copy)
        # Clients resend what the backup missed (same identifiers): the same ledger results.
        settings = Settings(database_url=fresh_url, run_clock_in_server=False)
        with TestClient(create_app(settings, database=restored)) as client:
            for number in range(BATCHES):
                response = client.post(
                    "/v1/events/ingest", json={"events": batch(number)}, headers=api.headers
                )
                assert response.status_code == 200, response.text
        assert stored(restored) == stored(database)
        assert balances(restored) == balances(database)
        check_ledger(restored)
    finally:
        restored.dispose()
