"""Durability: when ingest returns 200, events and ledger entries are committed; a crash at any
point loses nothing acknowledged and leaves no batch half-applied; resending every batch
afterwards books each event exactly once. The crash is a SIGKILL of a real server process
while batches are in flight."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from drawdown.db.engine import Database
from drawdown.db.tables import events, ledger_entries
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger
from tests.sdk.conftest import start_server

BATCHES = 40
EVENTS_PER_BATCH = 200


def batch(number: int) -> list[dict[str, Any]]:
    return [
        {
            "identifier": f"b{number}-e{i}",
            "name": "api_calls",
            "external_customer_id": f"d{i % 7}",
            "properties": {"units": 1},
        }
        for i in range(EVENTS_PER_BATCH)
    ]


def send_until_failure(url: str, key: str, acknowledged: list[int]) -> None:
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        for number in range(BATCHES):
            try:
                response = client.post("/v1/events/ingest", json={"events": batch(number)})
            except httpx.TransportError:
                return
            assert response.status_code == 200, response.text
            acknowledged.append(number)


def stored_per_batch(database: Database) -> Counter[str]:
    with database.read() as conn:
        identifiers = conn.execute(select(events.c.identifier)).scalars()
        return Counter(identifier.split("-")[0] for identifier in identifiers)


@pytest.mark.slow
def test_crash_then_retry_books_every_event_once(
    api: Any, database: Database, tmp_path: Path
) -> None:
    setup = Setup(api, database)
    for i in range(7):
        customer = api.ok("POST", "/v1/customers", 201, json={"external_id": f"d{i}"})
        api.ok(
            "POST",
            "/v1/credit-grants",
            201,
            json={
                "customer_id": customer["id"],
                "currency_id": setup.currency["id"],
                "amount": "300",
            },
        )
    url = database.engine.url.render_as_string(hide_password=False)
    quiet = {"DRAWDOWN_RUN_CLOCK_IN_SERVER": "false"}

    server = start_server(url, tmp_path, quiet)
    acknowledged: list[int] = []
    sender = threading.Thread(
        target=send_until_failure, args=(server.url, api.secret, acknowledged)
    )
    sender.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.process.kill()  # SIGKILL: no shutdown, mid-request
    server.process.wait()
    sender.join(30)
    assert 3 <= len(acknowledged) < BATCHES, "the crash must come while batches are in flight"

    stored = stored_per_batch(database)
    for number in range(BATCHES):
        expected = {EVENTS_PER_BATCH} if number in acknowledged else {0, EVENTS_PER_BATCH}
        assert stored.get(f"b{number}", 0) in expected, f"batch {number} half-applied or lost"
    check_ledger(database)

    restarted = start_server(url, tmp_path, quiet)
    try:
        with httpx.Client(
            base_url=restarted.url, headers={"Authorization": f"Bearer {api.secret}"}
        ) as client:
            for number in range(BATCHES):
                result = client.post("/v1/events/ingest", json={"events": batch(number)}).json()
                if number in acknowledged:
                    assert result == {"inserted": 0, "duplicates": EVENTS_PER_BATCH}
                assert result["inserted"] + result["duplicates"] == EVENTS_PER_BATCH
    finally:
        restarted.stop()

    with database.read() as conn:
        stored_ids = set(conn.execute(select(events.c.id)).scalars())
        entries = list(
            conn.execute(
                select(ledger_entries.c.event_id, ledger_entries.c.amount).where(
                    ledger_entries.c.event_id.is_not(None)
                )
            )
        )
    assert len(stored_ids) == BATCHES * EVENTS_PER_BATCH
    charged: dict[Any, int] = defaultdict(int)
    for event_id, amount in entries:
        charged[event_id] += -amount
    assert set(charged) == stored_ids and set(charged.values()) == {100}  # 1 unit = 1.00 credit
    check_ledger(database)
