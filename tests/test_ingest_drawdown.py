"""Ingest with the credit engine: balances are exact when ingest returns (debt,
negative usage, claimed events)."""

from __future__ import annotations

from typing import Any

from tests.helpers import ingest, make_meter


def _balance(api: Any, customer_id: str) -> dict[str, str]:
    data = api.ok("GET", f"/v1/customers/{customer_id}/balances")["data"]
    return {"available": data[0]["available"], "debt": data[0]["debt"]} if data else {}


def test_ingest_draws_down_and_negative_usage_grants(api: Any) -> None:
    meter = make_meter(api, "tokens", aggregation={"func": "sum", "property": "n"}, rate="0.01")
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    api.ok(
        "POST",
        "/v1/credit-grants",
        201,
        json={"customer_id": customer["id"], "meter_id": meter["id"], "amount": "5.00"},
    )
    ev = {"name": "tokens", "external_customer_id": "u1"}
    ingest(
        api,
        {**ev, "identifier": "a", "properties": {"n": 300}},
        {**ev, "identifier": "b", "properties": {"n": 150}},
    )
    assert _balance(api, customer["id"]) == {"available": "0.50", "debt": "0.00"}
    # A retry of the same batch changes nothing.
    ingest(api, {**ev, "identifier": "a", "properties": {"n": 300}})
    assert _balance(api, customer["id"]) == {"available": "0.50", "debt": "0.00"}
    ingest(api, {**ev, "identifier": "c", "properties": {"n": 100}})
    assert _balance(api, customer["id"]) == {"available": "0.00", "debt": "0.50"}
    ingest(api, {**ev, "identifier": "d", "properties": {"n": -200}})
    assert _balance(api, customer["id"]) == {"available": "1.50", "debt": "0.00"}


def test_events_of_a_future_customer_are_drawn_down_when_it_is_created(api: Any) -> None:
    make_meter(api, "calls", rate="0.25")
    ingest(
        api,
        *[
            {"identifier": str(i), "name": "calls", "external_customer_id": "later"}
            for i in range(3)
        ],
    )
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "later"})
    assert _balance(api, customer["id"]) == {"available": "0.00", "debt": "0.75"}
    txns = api.ok("GET", f"/v1/credit-transactions?customer_id={customer['id']}")["data"]
    assert len({t["event_id"] for t in txns}) == 3
