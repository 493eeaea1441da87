"""hold.* events reach a real receiver through the outbox, once each, whichever path
resolves the hold: capture, release, customer deletion, expiry booked by the clock or by
the next writer on the account."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from drawdown.clock import ManualClock
from drawdown.credits.clock import sweep_once
from drawdown.db.engine import Database
from drawdown.webhooks.worker import Deliverer
from tests.credits.conftest import Setup
from tests.credits.test_grants import iso
from tests.webhooks.conftest import add_endpoint, drain
from tests.webhooks.receiver import Delivery, Receiver


@pytest.fixture
def setup(api: Any, database: Database) -> Setup:
    return Setup(api, database)


HOLD_TYPES = ["hold.created", "hold.captured", "hold.released", "hold.expired"]


def _hold(setup: Setup, amount: str, **extra: Any) -> Any:
    body = {"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": amount}
    return setup.api.ok("POST", "/v1/holds", 201, json={**body, **extra})


def _event(identifier: str, units: float) -> dict[str, Any]:
    return {"identifier": identifier, "name": "api_calls", "properties": {"units": units}}


def _in_order(receiver: Receiver, path: str) -> list[Delivery]:
    # Attempts run in parallel: order by the (time-ordered) event id.
    return sorted(receiver.at(path), key=lambda d: d.webhook_id)


def _settle(deliverer: Deliverer, database: Database, clock: ManualClock) -> None:
    """Run the clock and the worker until neither has anything left to do."""
    sweep_once(database, clock.now())
    drain(deliverer)


def test_each_hold_event_is_delivered_once(
    setup: Setup,
    receiver: Receiver,
    deliverer: Deliverer,
    database: Database,
    clock: ManualClock,
) -> None:
    api = setup.api
    add_endpoint(api, receiver, "/holds", HOLD_TYPES)
    setup.grant("10")

    placed = _hold(setup, "4", metadata={"request": "r1"})
    captured = api.ok(
        "POST", f"/v1/holds/{placed['id']}/capture", json={"event": _event("call-1", 2.5)}
    )
    cancelled = _hold(setup, "3")
    api.ok("POST", f"/v1/holds/{cancelled['id']}/release", json={"reason": "user_cancelled"})
    by_clock = _hold(setup, "1", timeout_s=60)
    clock.advance(timedelta(seconds=61))
    # A read after expires_at shows the hold expired but writes nothing: no event yet.
    assert api.ok("GET", f"/v1/holds/{by_clock['id']}")["status"] == "expired"
    drain(deliverer)
    assert [d.type for d in _in_order(receiver, "/holds")] == [
        "hold.created",
        "hold.captured",
        "hold.created",
        "hold.released",
        "hold.created",
    ]
    assert sweep_once(database, clock.now()) == 1  # the clock books the expiry
    _settle(deliverer, database, clock)
    _settle(deliverer, database, clock)  # nothing more: every event went out once

    got = _in_order(receiver, "/holds")
    assert receiver.unverified == []
    assert [d.type for d in got] == [
        "hold.created",
        "hold.captured",
        "hold.created",
        "hold.released",
        "hold.created",
        "hold.expired",
    ]
    assert len({d.webhook_id for d in got}) == len(got)
    data = [d.payload["data"] for d in got]
    assert [d["hold_id"] for d in data] == [placed["id"]] * 2 + [cancelled["id"]] * 2 + [
        by_clock["id"]
    ] * 2
    assert all(d["customer_id"] == setup.customer["id"] for d in data)
    assert all(d["external_customer_id"] == "c1" for d in data)
    assert all(d["currency_id"] == setup.currency["id"] for d in data)

    created, capture, _, released, _, expired = data
    assert (created["status"], created["amount"], created["metadata"]) == (
        "active",
        "4.00",
        {"request": "r1"},
    )
    assert (created["available"], created["held"], created["balance"]) == ("6.00", "4.00", "10.00")
    assert created["expires_at"] == placed["expires_at"] and created["resolved_at"] is None
    assert capture["status"] == "captured" and capture["captured_amount"] == "2.50"
    assert capture["event_id"] == captured["event_id"] and capture["debt_incurred"] == "0.00"
    assert (capture["available"], capture["held"], capture["balance"]) == ("7.50", "0.00", "7.50")
    assert capture["metadata"] == {"request": "r1"} and capture["ledger_sequence"] == 2
    assert (released["status"], released["reason"]) == ("released", "user_cancelled")
    assert (released["amount"], released["captured_amount"]) == ("3.00", None)
    assert (expired["status"], expired["amount"]) == ("expired", "1.00")
    assert expired["resolved_at"] == iso(clock.now()) and expired["held"] == "0.00"

    # The log shows the same events, and each was attempted once, successfully.
    log = api.ok("GET", "/v1/webhooks/events", params={"type": "hold.expired"})["data"]
    assert [e["id"] for e in log] == [got[-1].webhook_id]
    attempts = api.ok("GET", "/v1/webhooks/deliveries", params={"limit": 100})["data"]
    assert sorted(a["event_id"] for a in attempts) == sorted(d.webhook_id for d in got)


def test_expiry_booked_by_the_next_writer_and_deletion_release_once(
    setup: Setup,
    receiver: Receiver,
    deliverer: Deliverer,
    database: Database,
    clock: ManualClock,
) -> None:
    api = setup.api
    add_endpoint(api, receiver, "/holds", HOLD_TYPES)
    setup.grant("10")
    lapsed = _hold(setup, "2", timeout_s=1)
    clock.advance(timedelta(seconds=5))
    # The next hold on the account books the lapsed one as it opens the book: the clock
    # then finds nothing due.
    kept = _hold(setup, "5")
    assert kept["available_after"] == "5.00"
    assert sweep_once(database, clock.now()) == 0
    api.ok("DELETE", f"/v1/customers/{setup.customer['id']}", 204)
    _settle(deliverer, database, clock)
    _settle(deliverer, database, clock)

    got = [(d.type, d.payload["data"]) for d in _in_order(receiver, "/holds")]
    assert [(t, d["hold_id"]) for t, d in got] == [
        ("hold.created", lapsed["id"]),
        ("hold.expired", lapsed["id"]),
        ("hold.created", kept["id"]),
        ("hold.released", kept["id"]),
    ]
    assert got[1][1]["resolved_at"] == iso(clock.now())
    assert got[3][1]["reason"] == "customer_deleted" and got[3][1]["held"] == "0.00"


@contextmanager
def _outbox_writes(database: Database) -> Iterator[list[str]]:
    """The statements that write the webhook outbox. SQLite's shows up as one INSERT per
    call; PostgreSQL's COPY does not pass through SQLAlchemy's statement hook."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if "INTO webhook_events" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def test_a_capture_writes_all_its_events_in_one_outbox_insert(
    setup: Setup, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    api = setup.api
    add_endpoint(api, receiver, "/all")
    setup.grant("3")
    placed = _hold(setup, "3")
    with _outbox_writes(database) as writes:
        api.ok("POST", f"/v1/holds/{placed['id']}/capture", json={"event": _event("all-of-it", 3)})
    drain(deliverer)
    got = _in_order(receiver, "/all")
    tail = [d.type for d in got][-3:]
    assert tail == ["hold.captured", "credit_grant.depleted", "credit.balance_depleted"]
    # One transaction, one outbox write for its three events (on SQLite, where it is seen).
    assert len(writes) == (1 if database.is_sqlite else 0)
    assert len({d.payload["timestamp"] for d in got[-3:]}) == 1
