"""Crash between commit and delivery: the server is SIGKILLed after ingest returned (its
events committed, none sent); after a restart every event reaches every endpoint, and no
``webhook-id`` reaches an endpoint twice."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from drawdown.db.engine import Database
from drawdown.db.tables import webhook_events
from tests.credits.conftest import Setup
from tests.sdk.conftest import start_server
from tests.webhooks.conftest import add_endpoint
from tests.webhooks.receiver import Receiver

ENV = {
    "DRAWDOWN_RUN_CLOCK_IN_SERVER": "false",
    "DRAWDOWN_WEBHOOK_ALLOW_PRIVATE": "true",
    "DRAWDOWN_WEBHOOK_POLL_INTERVAL_S": "0.05",
    "DRAWDOWN_RUN_WEBHOOKS_IN_SERVER": "true",
}


@pytest.mark.slow
def test_events_committed_before_a_crash_are_delivered_after_restart(
    api: Any, database: Database, receiver: Receiver, tmp_path: Path
) -> None:
    add_endpoint(api, receiver, "/a")
    add_endpoint(api, receiver, "/b", ["credit_grant.depleted", "credit.balance_depleted"])
    setup = Setup(api, database)
    setup.grant("5.00")
    url = database.engine.url.render_as_string(hide_password=False)

    # First server: delivery off, so the crash falls between commit and delivery.
    server = start_server(url, tmp_path, {**ENV, "DRAWDOWN_RUN_WEBHOOKS_IN_SERVER": "false"})
    events = [
        {"identifier": f"k{i}", "name": "api_calls", "external_customer_id": "c1",
         "properties": {"units": 1}}
        for i in range(8)
    ]  # fmt: skip
    response = httpx.post(
        server.url + "/v1/events/ingest",
        json={"events": events},
        headers={"Authorization": f"Bearer {api.secret}"},
    )
    assert response.status_code == 200, response.text
    server.process.kill()  # SIGKILL right after the acknowledgement
    server.process.wait()
    assert receiver.deliveries == []

    with database.read() as conn:
        logged = list(conn.execute(select(webhook_events.c.id, webhook_events.c.type)))
    types = Counter(t for _, t in logged)
    assert types["credit_grant.depleted"] == 1 and types["credit.balance_depleted"] == 1
    expected_b = sum(types[t] for t in ("credit_grant.depleted", "credit.balance_depleted"))

    restarted = start_server(url, tmp_path, ENV)
    try:
        receiver.wait_for(len(logged), "/a", timeout_s=30)
        receiver.wait_for(expected_b, "/b", timeout_s=30)
        time.sleep(0.5)  # room for a duplicate, if the worker were to send one
    finally:
        restarted.stop()
    assert receiver.unverified == []
    for path, count in (("/a", len(logged)), ("/b", expected_b)):
        ids = Counter(d.webhook_id for d in receiver.at(path))
        assert len(ids) == count and set(ids.values()) == {1}, (path, ids)
