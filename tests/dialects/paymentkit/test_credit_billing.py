"""Payment Kit's credit-based billing guide and its edge cases, over HTTP, with shapes
checked against @blocklet/payment-types 1.27.2, on SQLite and PostgreSQL.

The guide (JavaScript, payment-js): create a meter, grant credits, report usage, read the
summary and the transactions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.dialects.paymentkit.conftest import BASE
from tests.dialects.paymentkit.shapes import assert_error, assert_page, assert_shape
from tests.dialects.paymentkit.test_meters import GUIDE_METER, create_meter

DID = "z1muQ3xqHQK2uiACHyChikobsiY5kLqtShA"


def unix(clock: Any, delta_s: int = 0) -> int:
    return int(clock.now().timestamp()) + delta_s


def grant(pk: Any, customer_id: str, currency_id: str, amount: str, **extra: Any) -> Any:
    body = {"customer_id": customer_id, "amount": amount, "currency_id": currency_id}
    return pk.ok("POST", f"{BASE}/credit-grants", json={"category": "paid", **body, **extra})


def report(
    pk: Any,
    customer_id: str,
    value: str,
    identifier: str,
    payload_subscription: str | None = None,
    **extra: Any,
) -> Any:
    payload = {"customer_id": customer_id, "value": value}
    if payload_subscription is not None:
        payload["subscription_id"] = payload_subscription
    body = {
        "event_name": GUIDE_METER["event_name"],
        "payload": payload,
        "identifier": identifier,
        **extra,
    }
    return pk.ok("POST", f"{BASE}/meter-events", json=body)


def test_the_guide_four_steps(pk: Any, clock: Any) -> None:
    customer = pk.ok("POST", "/v1/customers", 201, json={"external_id": DID, "name": "Ann"})
    # 1. meters.create
    meter = create_meter(pk)
    currency_id = meter["currency_id"]
    # 2. creditGrants.create: 1000 credits (human units), expiring in 30 days
    expires_at = unix(clock, 30 * 24 * 3600)
    created = grant(
        pk,
        customer["id"],
        currency_id,
        "1000",
        category="promotional",
        name="New user bonus credits",
        expires_at=expires_at,
    )
    assert_shape(created, "TCreditGrantExpanded")
    assert created["object"] == "credit_grant" and created["status"] == "granted"
    # base units: 1000 credits of a 2-decimal currency
    assert (created["amount"], created["remaining_amount"]) == ("100000", "100000")
    assert created["expires_at"] == expires_at and created["priority"] == 50
    assert created["customer"]["id"] == customer["id"] and created["customer"]["did"] == DID
    assert created["paymentCurrency"]["id"] == currency_id
    # 3. meterEvents.create: 10 calls, drawn down before the response
    event = report(
        pk,
        customer["id"],
        "10",
        "unique_event_id_1",
        timestamp=unix(clock),
    )
    assert event["payload"] == {"customer_id": customer["id"], "value": "10"}
    assert (event["status"], event["credit_consumed"], event["credit_pending"]) == (
        "completed",
        "1000",
        "0",
    )
    # 4. creditGrants.summary and creditTransactions.list
    summary = pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id={customer['id']}")
    assert list(summary) == [currency_id]
    assert_shape(summary[currency_id], "CreditGrantSummary")
    assert summary[currency_id]["totalAmount"] == "100000"
    assert summary[currency_id]["remainingAmount"] == "99000"
    assert summary[currency_id]["grantCount"] == 1
    assert summary[currency_id]["meter"]["id"] == meter["id"]
    txs = pk.ok(
        "GET", f"{BASE}/credit-transactions?customer_id={customer['id']}&page=1&pageSize=10"
    )
    (tx,) = assert_page(txs, "TCreditTransactionExpanded")
    # The guide reads transactions.total and transactions.data: the same page under its names.
    assert (txs["total"], txs["data"]) == (txs["count"], txs["list"]) == (1, [tx])
    assert (tx["credit_amount"], tx["quantity"], tx["remaining_balance"]) == ("1000", "10", "99000")
    assert tx["credit_grant_id"] == created["id"] and tx["source"] == event["id"]
    assert (tx["meter_id"], tx["meter_event_name"], tx["meter_unit"]) == (
        meter["id"],
        "api.calls.invoked",
        "calls",
    )
    assert tx["creditGrant"]["id"] == created["id"] and tx["type"] == "consumption"
    # The summary accepts the DID too.
    assert pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id={DID}") == summary


def test_meter_event_shape_retrieve_and_list(pk: Any, clock: Any) -> None:
    customer = pk.ok("POST", "/v1/customers", 201, json={"external_id": DID})
    meter = create_meter(pk)
    grant(pk, customer["id"], meter["currency_id"], "100")
    event = report(
        pk,
        DID,
        "2.5",
        "ev-1",
        timestamp=unix(clock, -60),
        metadata={"appId": "z8ia"},
        source_data={"source": "AIGNE Hub"},
    )
    assert_shape(event, "TMeterEventExpanded")
    assert event["id"].startswith("evt_") and event["object"] == "meter_event"
    assert event["payload"] == {"customer_id": DID, "value": "2.5"}
    assert event["timestamp"] == unix(clock, -60) and event["identifier"] == "ev-1"
    assert event["metadata"] == {"appId": "z8ia"}
    assert event["source_data"] == {"source": "AIGNE Hub"}
    assert event["customer"]["id"] == customer["id"]
    assert event["meter"]["id"] == meter["id"]
    assert event["paymentCurrency"]["id"] == meter["currency_id"]
    assert event["credit_consumed"] == "250" and event["processed_at"] == unix(clock)
    assert pk.ok("GET", f"{BASE}/meter-events/{event['id']}") == event

    second = report(pk, customer["id"], "1", "ev-2", payload_subscription="sub_1")
    listed = pk.ok("GET", f"{BASE}/meter-events?event_name=api.calls.invoked&pageSize=1")
    assert [e["id"] for e in assert_page(listed, "TMeterEventExpanded")] == [second["id"]]
    assert second["payload"]["subscription_id"] == "sub_1"
    assert listed["count"] == 2
    by_meter = pk.ok("GET", f"{BASE}/meter-events?meter_id={meter['id']}&customer_id={DID}")
    assert [e["id"] for e in by_meter["list"]] == [second["id"], event["id"]]
    window = pk.ok("GET", f"{BASE}/meter-events?start={unix(clock, -120)}&end={unix(clock, -1)}")
    assert [e["id"] for e in window["list"]] == [event["id"]]
    assert pk.ok("GET", f"{BASE}/meter-events?customer_id=did-nobody")["count"] == 0
    assert_error(pk.get(f"{BASE}/meter-events/evt_nope"), 404, "not_found")


def test_inactive_meter_refuses_events(pk: Any) -> None:
    customer = pk.ok("POST", "/v1/customers", 201, json={})
    meter = create_meter(pk)
    pk.ok("PUT", f"{BASE}/meters/{meter['id']}/deactivate")
    body = assert_error(
        pk.post(
            f"{BASE}/meter-events",
            json={
                "event_name": meter["event_name"],
                "payload": {"customer_id": customer["id"], "value": "1"},
                "identifier": "while-off",
            },
        ),
        400,
        "validation_error",
    )
    assert "inactive" in body["error"] and "event_name" in body["error"]
    assert pk.ok("GET", f"{BASE}/meter-events")["count"] == 0
    pk.ok("PUT", f"{BASE}/meters/{meter['id']}/activate")
    assert report(pk, customer["id"], "1", "while-off")["status"] == "requires_action"
    unknown = pk.post(
        f"{BASE}/meter-events",
        json={
            "event_name": "no.meter",
            "payload": {"customer_id": customer["id"], "value": "1"},
            "identifier": "x",
        },
    )
    assert_error(unknown, 404, "meter_not_found")


def test_duplicate_identifier_is_refused_and_changes_nothing(pk: Any) -> None:
    customer = pk.ok("POST", "/v1/customers", 201, json={})
    meter = create_meter(pk)
    grant(pk, customer["id"], meter["currency_id"], "50")
    first = report(pk, customer["id"], "10", "same-id")
    body = assert_error(
        pk.post(
            f"{BASE}/meter-events",
            json={
                "event_name": meter["event_name"],
                "payload": {"customer_id": customer["id"], "value": "30"},
                "identifier": "same-id",
            },
        ),
        409,
        "duplicate_identifier",
    )
    assert "same-id" in body["error"]
    events = pk.ok("GET", f"{BASE}/meter-events")
    assert events["count"] == 1 and events["list"][0] == first
    summary = pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id={customer['id']}")
    assert summary[meter["currency_id"]]["remainingAmount"] == "4000"


def test_insufficient_credits_then_a_top_up(pk: Any, clock: Any) -> None:
    customer = pk.ok("POST", "/v1/customers", 201, json={"external_id": DID})
    meter = create_meter(pk)
    cur = meter["currency_id"]
    grant(pk, DID, cur, "5")
    short = report(pk, DID, "8", "u1")
    assert (short["status"], short["credit_consumed"], short["credit_pending"]) == (
        "requires_action",
        "500",
        "300",
    )
    clock.advance(timedelta(seconds=1))
    later = report(pk, DID, "2", "u2")
    assert (later["credit_consumed"], later["credit_pending"]) == ("0", "200")
    pending = pk.ok("GET", f"{BASE}/meter-events/pending-amount?customer_id={DID}")
    assert pending == {cur: "500"}
    assert pk.ok("GET", f"{BASE}/meter-events/pending-amount") == {cur: "500"}
    assert pk.ok("GET", f"{BASE}/meter-events/pending-amount?currency_id={cur}") == {cur: "500"}
    summary = pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id={DID}")
    assert summary == {}  # the only grant is depleted
    verdict = pk.ok(
        "GET", f"{BASE}/credit-grants/verify-availability?customer_id={DID}&currency_id={cur}"
    )
    assert verdict["can_continue"] is False and "debt 500" in verdict["reason"]

    # A top-up of 4 pays the oldest debt first: u1's 300, then 100 of u2's 200.
    clock.advance(timedelta(seconds=1))
    top_up = grant(pk, customer["id"], cur, "4")
    assert (top_up["status"], top_up["remaining_amount"]) == ("depleted", "0")
    paid = pk.ok("GET", f"{BASE}/meter-events/{short['id']}")
    assert (paid["status"], paid["credit_consumed"], paid["credit_pending"]) == (
        "completed",
        "800",
        "0",
    )
    after = pk.ok("GET", f"{BASE}/meter-events/{later['id']}")
    assert (after["status"], after["credit_pending"]) == ("requires_action", "100")
    assert pk.ok("GET", f"{BASE}/meter-events/pending-amount?customer_id={DID}") == {cur: "100"}

    # A second top-up clears the rest and leaves 4.00 available.
    clock.advance(timedelta(seconds=1))
    grant(pk, customer["id"], cur, "5")
    assert pk.ok("GET", f"{BASE}/meter-events/pending-amount?customer_id={DID}") == {}
    assert pk.ok("GET", f"{BASE}/meter-events/{later['id']}")["status"] == "completed"
    summary = pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id={DID}")
    assert (summary[cur]["totalAmount"], summary[cur]["remainingAmount"]) == ("500", "400")
    ok = pk.ok(
        "GET",
        f"{BASE}/credit-grants/verify-availability?customer_id={DID}&currency_id={cur}"
        "&pending_amount=399",
    )
    assert ok == {"can_continue": True}
    too_much = pk.ok(
        "GET",
        f"{BASE}/credit-grants/verify-availability?customer_id={DID}&currency_id={cur}"
        "&pending_amount=400",
    )
    assert too_much["can_continue"] is False

    # The settlements show as transactions drawn from the top-ups; the debt rows on request.
    txs = pk.ok("GET", f"{BASE}/credit-transactions?customer_id={DID}")
    assert [(t["type"], t["credit_amount"]) for t in txs["list"]] == [
        ("settlement", "100"),
        ("settlement", "400"),
        ("consumption", "500"),
    ]
    debts = pk.ok("GET", f"{BASE}/credit-transactions?customer_id={DID}&type=debt")
    assert [(t["source"], t["credit_amount"]) for t in debts["list"]] == [
        (later["id"], "200"),
        (short["id"], "300"),
    ]
    totals = pk.ok("GET", f"{BASE}/credit-transactions/summary?customer_id={DID}")
    assert (totals["total_credit_amount"], totals["transaction_count"]) == ("1000", 3)
    assert totals["total_quantity"] == "5"  # the metered part; settlements carry no quantity
    assert_shape(totals, "UsageSummary")


def test_expiry(pk: Any, clock: Any) -> None:
    customer = pk.ok("POST", "/v1/customers", 201, json={})
    meter = create_meter(pk)
    cur = meter["currency_id"]
    soon = grant(pk, customer["id"], cur, "10", expires_at=unix(clock, 60), name="soon")
    later = grant(pk, customer["id"], cur, "20", expires_at=unix(clock, 4 * 3600))
    report(pk, customer["id"], "3", "before-expiry")
    assert pk.ok("GET", f"{BASE}/credit-grants/{soon['id']}")["remaining_amount"] == "700"

    clock.advance(timedelta(seconds=61))  # no sweeper ran: reads apply the clock
    expired = pk.ok("GET", f"{BASE}/credit-grants/{soon['id']}")
    assert (expired["status"], expired["remaining_amount"]) == ("expired", "0")
    summary = pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id={customer['id']}")
    assert (summary[cur]["remainingAmount"], summary[cur]["grantCount"]) == ("2000", 1)
    listed = pk.ok("GET", f"{BASE}/credit-grants?customer_id={customer['id']}&status=expired")
    assert [g["id"] for g in listed["list"]] == [soon["id"]] and listed["count"] == 1
    event = report(pk, customer["id"], "1", "after-expiry")
    txs = pk.ok("GET", f"{BASE}/credit-transactions?source={event['id']}")
    assert [t["credit_grant_id"] for t in txs["list"]] == [later["id"]]
    # drawdown records what expired (Payment Kit keeps no such row): on request, once the
    # expiry grace (1 h, during which late usage may still draw the grant) has passed.
    assert pk.ok("GET", f"{BASE}/credit-transactions?type=expiration")["list"] == []
    clock.advance(timedelta(hours=1))
    report(pk, customer["id"], "1", "after-grace")
    gone = pk.ok("GET", f"{BASE}/credit-transactions?type=expiration")
    assert [(t["credit_grant_id"], t["credit_amount"]) for t in gone["list"]] == [
        (soon["id"], "700")
    ]

    # Expire early through update, as UpdateCreditGrantData allows.
    assert pk.ok("PUT", f"{BASE}/credit-grants/{later['id']}", json={"expired": True}) == {
        "success": True
    }
    assert pk.ok("GET", f"{BASE}/credit-grants/{later['id']}")["status"] == "expired"
    assert pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id={customer['id']}") == {}
    again = pk.request("PUT", f"{BASE}/credit-grants/{later['id']}", json={"expired": True})
    assert_error(again, 409, "grant_closed")
