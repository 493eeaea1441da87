"""The webhooks and alerts CLI against a real server process; a delivery worker on the same
database posts to a real receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drawdown.clock import SystemClock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.webhooks.worker import Deliverer
from tests.sdk.conftest import Run, ok_json
from tests.webhooks.conftest import drain
from tests.webhooks.receiver import Receiver


@pytest.fixture
def deliverer(database: Database) -> Iterator[Deliverer]:
    settings = Settings(database_url=database.url, webhook_allow_private=True)
    worker = Deliverer(database, SystemClock(), settings)
    yield worker
    worker.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_webhooks_and_alerts_commands(run: Run, receiver: Receiver, deliverer: Deliverer) -> None:
    created = ok_json(
        run("webhooks", "endpoints", "create", receiver.url("/cli"), "-t", "customer.created",
            "-t", "webhook.test", "--json")
    )  # fmt: skip
    assert created["secret"].startswith("whsec_")
    receiver.route("/cli", created["secret"])
    listed = ok_json(run("webhooks", "endpoints", "list", "--json"))
    assert [e["id"] for e in listed] == [created["id"]] and listed[0].get("secret") is None

    ok_json(run("customers", "create", "--external-id", "cli-wh", "--json"))
    drain(deliverer)
    (delivery,) = receiver.at("/cli")
    assert delivery.type == "customer.created" and receiver.unverified == []

    events = ok_json(run("webhooks", "events", "--type", "customer.created", "--json"))
    assert [e["id"] for e in events] == [delivery.webhook_id]
    attempts = ok_json(run("webhooks", "deliveries", "--endpoint-id", created["id"], "--json"))
    assert attempts[0]["succeeded"] and attempts[0]["http_code"] == 200
    assert ok_json(run("webhooks", "redeliver", delivery.webhook_id, "--json"))["scheduled"] == 1
    ok_json(run("webhooks", "endpoints", "test", created["id"], "--json"))
    drain(deliverer)
    got = receiver.at("/cli")
    assert sorted(d.type for d in got) == ["customer.created", "customer.created", "webhook.test"]

    rotated = ok_json(run("webhooks", "endpoints", "rotate-secret", created["id"], "--json"))
    assert rotated["secret"] != created["secret"]
    assert not ok_json(run("webhooks", "endpoints", "disable", created["id"], "--json"))["enabled"]
    replay = run("webhooks", "endpoints", "replay", created["id"], "--since", "2000-01-01T00:00:00Z",
                 "--json")  # fmt: skip
    assert ok_json(replay)["scheduled"] == 0  # nothing failed
    assert run("webhooks", "endpoints", "delete", created["id"]).exit_code == 0

    currency = ok_json(run("customers", "create", "--external-id", "cli-al", "--json"))
    bad = run("alerts", "create", "--threshold", "low", "--currency-id", "cur_x")
    assert bad.exit_code == 2 and "CODE=AMOUNT" in bad.output
    missing = run("alerts", "create", "--threshold", "low=5", "--currency-id", "cur_nope")
    assert missing.exit_code == 1 and "currency_id" in missing.stderr
    assert ok_json(run("alerts", "list", "--customer", currency["id"], "--json")) == []
