"""Drawdown inside ingest (debt, order, debt paid first, negative usage, time, unknown
customers, durability), through the HTTP API. These
are also the worked examples of docs/credits.md."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from drawdown.credits.clock import sweep_once
from tests.credits.test_grants import iso

_ids = itertools.count()


def ingest(api: Any, *events: dict[str, Any], customer: str = "c1") -> Any:
    body = []
    for event in events:
        item = {
            "identifier": f"evt-{next(_ids)}",
            "name": "api_calls",
            "external_customer_id": customer,
        }
        item.update(event)
        body.append(item)
    return api.ok("POST", "/v1/events/ingest", json={"events": body})


def use(units: Any, **extra: Any) -> dict[str, Any]:
    return {"properties": {"units": units}, **extra}


def ledger(api: Any, **filters: str) -> list[tuple[str, str]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    entries = api.ok("GET", f"/v1/credit-transactions?limit=100&{query}")["data"]
    return [(e["type"], e["amount"]) for e in reversed(entries)]


def test_grant_10_use_3_balance_7(api: Any, setup: Any, ledger_checked: None) -> None:
    grant = setup.grant("10")
    assert ingest(api, use(3)) == {"inserted": 1, "duplicates": 0}
    assert setup.available() == "7.00"
    assert api.ok("GET", f"/v1/credit-grants/{grant['id']}")["remaining"] == "7.00"
    assert ledger(api) == [("grant", "10.00"), ("consumption", "-3.00")]
    entry = api.ok("GET", "/v1/credit-transactions?type=consumption")["data"][0]
    assert entry["grant_id"] == grant["id"] and entry["event_id"].startswith("evt_")
    assert entry["balance_after"] == "7.00"


def test_two_grants_priority_then_expiry(
    api: Any, setup: Any, clock: Any, ledger_checked: None
) -> None:
    now = clock.now()
    late_expiry = setup.grant("5", expires_at=iso(now + timedelta(days=30)))
    soon_expiry = setup.grant("5", expires_at=iso(now + timedelta(days=7)))
    urgent = setup.grant("2", priority=1)  # never expires, but the best priority
    ingest(api, use(8))
    remaining = {g["id"]: g["remaining"] for g in api.ok("GET", "/v1/credit-grants")["data"]}
    assert remaining == {urgent["id"]: "0.00", soon_expiry["id"]: "0.00", late_expiry["id"]: "4.00"}
    assert setup.available() == "4.00"


def test_debt_then_top_up(api: Any, setup: Any, ledger_checked: None) -> None:
    setup.grant("2")
    assert ingest(api, use(5))["inserted"] == 1  # usage is a fact: never rejected
    balance = setup.balance()
    assert (balance["available"], balance["debt"]) == ("0.00", "3.00")
    access = api.ok("GET", f"/v1/customers/{setup.customer['id']}/access?meter=api_calls")
    assert access["has_access"] is False and access["debt"] == "3.00"
    top_up = setup.grant("10")
    assert top_up["remaining"] == "7.00"  # the debt was paid first
    balance = setup.balance()
    assert (balance["available"], balance["debt"]) == ("7.00", "0.00")
    assert ledger(api) == [
        ("grant", "2.00"),
        ("consumption", "-2.00"),
        ("debt", "-3.00"),
        ("grant", "10.00"),
        ("settlement", "-3.00"),
        ("debt_settled", "3.00"),
    ]


def test_pending_grant_pays_debt_when_it_activates(
    api: Any, setup: Any, clock: Any, database: Any, ledger_checked: None
) -> None:
    ingest(api, use(4))
    future = setup.grant("10", effective_at=iso(clock.now() + timedelta(hours=1)))
    assert setup.balance()["debt"] == "4.00" and future["status"] == "pending"
    clock.advance(timedelta(hours=1))
    assert setup.available() == "6.00"  # read through the clock before it is booked
    sweep_once(database, clock.now())
    assert api.ok("GET", f"/v1/credit-grants/{future['id']}")["remaining"] == "6.00"
    assert ledger(api)[-3:] == [
        ("grant", "10.00"),
        ("settlement", "-4.00"),
        ("debt_settled", "4.00"),
    ]


def test_late_event_after_expiry(
    api: Any, setup: Any, clock: Any, database: Any, ledger_checked: None
) -> None:
    start = clock.now()
    expiring = setup.grant("5", expires_at=iso(start + timedelta(hours=1)))
    clock.advance(timedelta(hours=2))
    replacement = setup.grant("5")
    # The event happened while `expiring` was active, but it arrives after the grant expired:
    # expired credits are gone for every read and write, so `replacement` pays.
    ingest(api, use(3, timestamp=iso(start + timedelta(minutes=30))))
    grants = {g["id"]: g for g in api.ok("GET", "/v1/credit-grants")["data"]}
    assert (
        grants[expiring["id"]]["status"] == "expired"
        and grants[expiring["id"]]["remaining"] == "0.00"
    )
    assert grants[replacement["id"]]["remaining"] == "2.00"
    assert ("expiration", "-5.00") in ledger(api)  # booked by the ingest that touched the account


def test_late_event_prefers_grants_active_at_its_time(
    api: Any, setup: Any, clock: Any, ledger_checked: None
) -> None:
    start = clock.now()
    old = setup.grant("5", priority=90)
    clock.advance(timedelta(hours=2))
    new = setup.grant("5", priority=0)
    ingest(api, use(4, timestamp=iso(start + timedelta(hours=1))))
    remaining = {g["id"]: g["remaining"] for g in api.ok("GET", "/v1/credit-grants")["data"]}
    assert remaining == {old["id"]: "1.00", new["id"]: "5.00"}


def test_void(api: Any, setup: Any, ledger_checked: None) -> None:
    grant = setup.grant("10")
    ingest(api, use(4))
    api.ok("POST", f"/v1/credit-grants/{grant['id']}/void")
    assert setup.available() == "0.00"
    assert ledger(api) == [("grant", "10.00"), ("consumption", "-4.00"), ("void", "-6.00")]
    ingest(api, use(1))
    assert setup.balance()["debt"] == "1.00"


def test_negative_event_grants_credits(
    api: Any, setup: Any, clock: Any, ledger_checked: None
) -> None:
    ingest(api, use(3))  # debt 3 first
    ingest(api, use(-10))
    grants = api.ok("GET", "/v1/credit-grants")["data"]
    assert len(grants) == 1
    grant = grants[0]
    assert (grant["amount"], grant["remaining"], grant["category"], grant["expires_at"]) == (
        "10.00",
        "7.00",
        "promotional",
        None,
    )
    assert grant["source_event_id"].startswith("evt_")
    assert setup.available() == "7.00"
    expiring = iso(clock.now() + timedelta(days=1))
    ingest(api, use(-1, properties={"units": -1, "credit_expires_at": expiring}))
    newest = api.ok("GET", "/v1/credit-grants")["data"][0]
    assert newest["amount"] == "1.00" and newest["expires_at"] == expiring


def test_rate_and_count_meters(api: Any, setup: Any, ledger_checked: None) -> None:
    currency = setup.currency["id"]
    api.ok(
        "POST",
        "/v1/meters",
        201,
        json={
            "name": "Tokens",
            "event_name": "tokens",
            "aggregation": {"func": "sum", "property": "n"},
            "currency_id": currency,
            "rate": "0.001",
        },
    )
    api.ok(
        "POST",
        "/v1/meters",
        201,
        json={
            "name": "Requests",
            "event_name": "requests",
            "aggregation": {"func": "count"},
            "currency_id": currency,
            "rate": "0.25",
        },
    )
    api.ok(
        "POST",
        "/v1/meters",
        201,
        json={
            "name": "Peak",
            "event_name": "peak",
            "aggregation": {"func": "max", "property": "n"},
            "currency_id": currency,
        },
    )
    setup.grant("10")
    ingest(
        api,
        {"name": "tokens", "properties": {"n": 1500}},
        {"name": "requests"},
        {"name": "requests"},
        {"name": "peak", "properties": {"n": 99}},
    )
    assert setup.available() == "8.00"  # 10 - 1.5 - 2 x 0.25; a max meter consumes nothing
    assert ledger(api)[1:] == [
        ("consumption", "-1.50"),
        ("consumption", "-0.25"),
        ("consumption", "-0.25"),
    ]


def test_duplicates_change_nothing(api: Any, setup: Any, ledger_checked: None) -> None:
    setup.grant("10")
    event = {
        "identifier": "once",
        "name": "api_calls",
        "external_customer_id": "c1",
        "properties": {"units": 2},
    }
    assert api.ok("POST", "/v1/events/ingest", json={"events": [event]}) == {
        "inserted": 1,
        "duplicates": 0,
    }
    assert api.ok("POST", "/v1/events/ingest", json={"events": [event, event]}) == {
        "inserted": 0,
        "duplicates": 2,
    }
    assert setup.available() == "8.00"


def test_unknown_customer_drawn_down_when_created(
    api: Any, setup: Any, ledger_checked: None
) -> None:
    ingest(api, use(2), use(3), customer="newcomer")
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "newcomer"})
    balances = api.ok("GET", f"/v1/customers/{customer['id']}/balances")["data"]
    assert [(b["available"], b["debt"]) for b in balances] == [("0.00", "5.00")]
    api.ok(
        "POST",
        "/v1/credit-grants",
        201,
        json={"customer_id": customer["id"], "currency_id": setup.currency["id"], "amount": "6"},
    )
    balances = api.ok("GET", f"/v1/customers/{customer['id']}/balances")["data"]
    assert [(b["available"], b["debt"]) for b in balances] == [("1.00", "0.00")]


def test_rejected_batch_books_nothing(api: Any, setup: Any, ledger_checked: None) -> None:
    setup.grant("10")
    bad = {
        "identifier": "x",
        "name": "api_calls",
        "customer_id": "cus_" + "0" * 32,
        "properties": {"units": 1},
    }
    good = {
        "identifier": "y",
        "name": "api_calls",
        "external_customer_id": "c1",
        "properties": {"units": 1},
    }
    assert api.post("/v1/events/ingest", json={"events": [good, bad]}).status_code == 422
    assert setup.available() == "10.00" and len(ledger(api)) == 1
