"""Readiness and graceful shutdown: /readyz checks the database and answers 503 while
draining; SIGTERM during ingest under load loses no acknowledged batch, half-applies none,
and the clients' retries (to the restarted server) complete the rest exactly once."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.tables import events, ledger_entries
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger
from tests.sdk.conftest import LiveServer, start_server

SENDERS = 3
# Enough that the load outlasts the 1 s drain delay even on an idle machine.
BATCHES_PER_SENDER = 100
EVENTS_PER_BATCH = 50
CUSTOMERS = 5


def test_readyz_checks_the_database_and_draining(app: Any) -> None:
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        app.state.lifecycle.drain()
        drained = client.get("/readyz")
        assert drained.status_code == 503 and drained.json()["code"] == "not_ready"
        assert client.get("/healthz").status_code == 200  # liveness is not readiness


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    settings = Settings(database_url=url, run_clock_in_server=False)
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "The database is unreachable"


def batch(sender: int, number: int) -> list[dict[str, Any]]:
    return [
        {
            "identifier": f"s{sender}b{number}-e{i}",
            "name": "api_calls",
            "external_customer_id": f"g{i % CUSTOMERS}",
            "properties": {"units": 1},
        }
        for i in range(EVENTS_PER_BATCH)
    ]


class Target:
    """Where the clients send: the current server, replaced after the restart."""

    def __init__(self, server: LiveServer) -> None:
        self.url = server.url
        self.lock = threading.Lock()


def send_with_retries(target: Target, key: str, sender: int, acked: list[tuple[int, int]]) -> None:
    deadline = time.monotonic() + 120
    headers = {"Authorization": f"Bearer {key}"}
    for number in range(BATCHES_PER_SENDER):
        while time.monotonic() < deadline:
            try:
                response = httpx.post(
                    target.url + "/v1/events/ingest",
                    json={"events": batch(sender, number)},
                    headers=headers,
                    timeout=30,
                )
            except httpx.TransportError:
                time.sleep(0.05)  # the server is going or gone: retry, like the SDK does
                continue
            if response.status_code == 503:
                time.sleep(0.05)
                continue
            assert response.status_code == 200, response.text
            acked.append((sender, number))
            break


def stored_batches(database: Database) -> Counter[str]:
    with database.read() as conn:
        identifiers = conn.execute(select(events.c.identifier)).scalars()
        return Counter(identifier.split("-")[0] for identifier in identifiers)


@pytest.mark.slow
def test_sigterm_during_ingest_loses_nothing(api: Any, database: Database, tmp_path: Path) -> None:
    setup = Setup(api, database)
    for i in range(CUSTOMERS):
        customer = api.ok("POST", "/v1/customers", 201, json={"external_id": f"g{i}"})
        body = {"customer_id": customer["id"], "currency_id": setup.currency["id"], "amount": "500"}
        api.ok("POST", "/v1/credit-grants", 201, json=body)
    env = {
        "DRAWDOWN_RUN_CLOCK_IN_SERVER": "true",
        "DRAWDOWN_SHUTDOWN_DRAIN_DELAY_S": "1",
        "DRAWDOWN_SHUTDOWN_TIMEOUT_S": "20",
        "DRAWDOWN_LOG_LEVEL": "info",
        "DRAWDOWN_LOG_FORMAT": "json",
    }
    server = start_server(database.url, tmp_path, env)
    target = Target(server)
    acked: list[tuple[int, int]] = []
    senders = [
        threading.Thread(target=send_with_retries, args=(target, api.secret, s, acked))
        for s in range(SENDERS)
    ]
    for thread in senders:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acked) < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.process.send_signal(signal.SIGTERM)
    # Draining: still answering, but not ready, so a load balancer moves traffic away.
    assert httpx.get(server.url + "/readyz", timeout=5).status_code == 503
    server.process.wait(timeout=30)
    at_stop = list(acked)
    assert len(at_stop) < SENDERS * BATCHES_PER_SENDER, "the stop must come mid-load"
    assert '"event":"shutdown_complete"' in server.log_path.read_text(), server.log()

    stored = stored_batches(database)
    for sender in range(SENDERS):
        for number in range(BATCHES_PER_SENDER):
            count = stored.get(f"s{sender}b{number}", 0)
            if (sender, number) in at_stop:
                assert count == EVENTS_PER_BATCH, f"acknowledged batch {sender}/{number} lost"
            else:
                assert count in (0, EVENTS_PER_BATCH), f"batch {sender}/{number} half-applied"
    check_ledger(database)

    restarted = start_server(database.url, tmp_path, env)
    target.url = restarted.url
    try:
        for thread in senders:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in senders)
    finally:
        restarted.stop()
    assert len(set(acked)) == SENDERS * BATCHES_PER_SENDER
    stored = stored_batches(database)
    assert set(stored.values()) == {EVENTS_PER_BATCH}
    assert len(stored) == SENDERS * BATCHES_PER_SENDER
    with database.read() as conn:
        usage = conn.execute(
            select(ledger_entries.c.amount).where(ledger_entries.c.event_id.is_not(None))
        ).scalars()
        charged = -sum(usage)
    assert charged == SENDERS * BATCHES_PER_SENDER * EVENTS_PER_BATCH * 100  # 1.00 per unit
    check_ledger(database)
