"""Holds under concurrency: 8 OS processes place 200 holds at once against one PostgreSQL
database, on a balance that fits 50 of them. Exactly 50 succeed, in full; none
oversubscribes; their captures and releases then settle the balance to the unit."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.tables import ledger_entries
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger

PROCESSES = 8
HOLDS_PER_PROCESS = 25
FITS = 50  # holds of 1.00 against 50.00


def place_holds(url: str, secret: str, customer_id: str) -> list[tuple[int, Any]]:
    app = create_app(Settings(database_url=url, run_clock_in_server=False))
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"customer_id": customer_id, "meter_id": "api_calls", "amount": "1", "timeout_s": 600}
    with TestClient(app) as client:
        out = []
        for _ in range(HOLDS_PER_PROCESS):
            response = client.post("/v1/holds", json=body, headers=headers)
            out.append((response.status_code, response.json()))
        return out


def settle(url: str, secret: str, hold_ids: list[str]) -> list[tuple[str, int]]:
    """Capture 0.37 or 1.00, or release: what each hold cost, in base units."""
    app = create_app(Settings(database_url=url, run_clock_in_server=False))
    headers = {"Authorization": f"Bearer {secret}"}
    costs = []
    with TestClient(app) as client:
        for n, hold_id in enumerate(hold_ids):
            if n % 3 == 2:
                response = client.post(f"/v1/holds/{hold_id}/release", headers=headers)
                cost = 0
            else:
                units = 0.37 if n % 3 == 0 else 1
                event = {"identifier": hold_id, "name": "api_calls", "properties": {"units": units}}
                response = client.post(
                    f"/v1/holds/{hold_id}/capture", json={"event": event}, headers=headers
                )
                cost = round(units * 100)
            assert response.status_code == 200, response.text
            costs.append((hold_id, cost))
    return costs


@pytest.mark.slow
def test_concurrent_holds_never_oversubscribe(api: Any, database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("multi-process row locking is a PostgreSQL test; SQLite has one writer")
    setup = Setup(api, database)
    setup.grant("50")
    url = database.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    customer_id = setup.customer["id"]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        placed = pool.starmap(place_holds, [(url, api.secret, customer_id)] * PROCESSES)
        answers = [answer for batch in placed for answer in batch]
        held = [body for status, body in answers if status == 201]
        refused = [body for status, body in answers if status != 201]
        assert len(held) == FITS and {h["amount"] for h in held} == {"1.00"}
        assert len(refused) == PROCESSES * HOLDS_PER_PROCESS - FITS
        assert {(r["code"], r["available"], r["requested"]) for r in refused} == {
            ("insufficient_credits", "0.00", "1.00")
        }
        balance = setup.balance()
        assert (balance["available"], balance["held"]) == ("0.00", "50.00")
        ids = [h["id"] for h in held]
        chunks = [ids[i::PROCESSES] for i in range(PROCESSES)]
        settled = pool.starmap(settle, [(url, api.secret, chunk) for chunk in chunks])
    costs = dict(cost for batch in settled for cost in batch)
    spent = sum(costs.values())
    balance = setup.balance()
    assert (balance["available"], balance["held"], balance["debt"]) == (
        f"{(5000 - spent) // 100}.{(5000 - spent) % 100:02d}",
        "0.00",
        "0.00",
    )
    with database.read() as conn:
        entries = list(
            conn.execute(select(ledger_entries).where(ledger_entries.c.type == "consumption"))
        )
    assert sorted(-e.amount for e in entries) == sorted(c for c in costs.values() if c)
    assert all(api.ok("GET", f"/v1/holds/{i}")["status"] != "active" for i in ids)
    check_ledger(database)
