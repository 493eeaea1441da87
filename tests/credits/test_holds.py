"""Holds through the native API: reserve, capture, release, expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drawdown.credits.clock import sweep_once
from tests.credits.conftest import Setup
from tests.credits.test_grants import iso
from tests.helpers import ingest
from tests.test_errors import assert_problem


def hold(setup: Setup, amount: str, status: int = 201, **extra: Any) -> Any:
    body = {"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": amount}
    return setup.api.ok("POST", "/v1/holds", status, json={**body, **extra})


def event(identifier: str, units: float, **extra: Any) -> dict[str, Any]:
    return {"identifier": identifier, "name": "api_calls", "properties": {"units": units}, **extra}


def capture(setup: Setup, hold_id: str, status: int = 200, **body: Any) -> Any:
    return setup.api.ok("POST", f"/v1/holds/{hold_id}/capture", status, json=body)


def balance(setup: Setup) -> tuple[str, str, str]:
    b = setup.balance()
    return b["available"], b["held"], b["debt"]


def test_hold_reserves_and_capture_draws_the_actual_cost(
    api: Any, setup: Setup, clock: Any, ledger_checked: None
) -> None:
    setup.grant("10")
    created = hold(setup, "4", metadata={"request": "r1"})
    assert created["id"].startswith("hld_") and created["object"] == "hold"
    assert (created["status"], created["amount"], created["requested"]) == (
        "active",
        "4.00",
        "4.00",
    )
    assert created["available_after"] == "6.00" and created["metadata"] == {"request": "r1"}
    assert created["expires_at"] == iso(clock.now() + timedelta(seconds=300))
    assert balance(setup) == ("6.00", "4.00", "0.00")
    access = api.ok("GET", f"/v1/customers/{setup.customer['id']}/access?meter=api_calls")
    assert (access["available"], access["held"], access["has_access"]) == ("6.00", "4.00", True)

    captured = capture(setup, created["id"], amount="2.5", event=event("call-1", 2.5))
    assert (captured["status"], captured["captured_amount"]) == ("captured", "2.50")
    assert captured["available_after"] == "7.50" and captured["event_id"].startswith("evt_")
    assert balance(setup) == ("7.50", "0.00", "0.00")
    # The event is an ordinary stored event, and its consumption an ordinary entry.
    stored = api.ok("GET", f"/v1/events/{captured['event_id']}")
    assert stored["identifier"] == "call-1" and stored["customer_id"] == setup.customer["id"]
    entries = api.ok("GET", "/v1/credit-transactions", params={"event_id": captured["event_id"]})
    assert [(e["type"], e["amount"]) for e in entries["data"]] == [("consumption", "-2.50")]
    assert api.ok("GET", f"/v1/holds/{created['id']}")["status"] == "captured"


def test_capture_at_and_above_the_hold(api: Any, setup: Setup, ledger_checked: None) -> None:
    setup.grant("10")
    at = hold(setup, "3")
    assert capture(setup, at["id"], event=event("at", 3))["captured_amount"] == "3.00"
    above = hold(setup, "2")
    body = assert_problem(
        api.post(f"/v1/holds/{above['id']}/capture", json={"event": event("above", 5)}),
        422,
        "exceeds_hold_amount",
    )
    assert body["errors"][0]["loc"] == ["body", "amount"]
    # Nothing was stored: the event can be sent again, with the overage allowed.
    assert balance(setup) == ("5.00", "2.00", "0.00")
    done = capture(setup, above["id"], event=event("above", 5), allow_overage=True)
    assert done["captured_amount"] == "5.00" and balance(setup) == ("2.00", "0.00", "0.00")


def test_capture_checks_the_stated_amount_and_the_event(api: Any, setup: Setup) -> None:
    setup.grant("10")
    created = hold(setup, "5")
    wrong = api.post(
        f"/v1/holds/{created['id']}/capture", json={"amount": "2", "event": event("e", 3)}
    )
    assert assert_problem(wrong, 422, "validation_error")["errors"][0]["loc"] == ["body", "amount"]
    bad_event = api.post(
        f"/v1/holds/{created['id']}/capture",
        json={
            "event": {"identifier": "e", "name": "api_calls", "timestamp": "2001-01-01T00:00:00Z"}
        },
    )
    problem = assert_problem(bad_event, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "event", "timestamp"]
    ingest(api, {**event("taken", 1), "customer_id": setup.customer["id"]})
    dup = api.post(f"/v1/holds/{created['id']}/capture", json={"event": event("taken", 1)})
    assert_problem(dup, 409, "duplicate_event")
    assert api.ok("GET", f"/v1/holds/{created['id']}")["status"] == "active"


def test_short_balance_is_402_or_partial_down_to_min_amount(
    api: Any, setup: Setup, ledger_checked: None
) -> None:
    setup.grant("5")
    body = assert_problem(
        api.post(
            "/v1/holds",
            json={"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": "6"},
        ),
        402,
        "insufficient_credits",
    )
    assert (body["available"], body["requested"]) == ("5.00", "6.00")
    partial = hold(setup, "6", min_amount="4")
    assert (partial["amount"], partial["requested"], partial["min_amount"]) == (
        "5.00",
        "6.00",
        "4.00",
    )
    assert partial["available_after"] == "0.00"
    assert_problem(
        api.post(
            "/v1/holds",
            json={
                "customer_id": setup.customer["id"],
                "meter_id": "api_calls",
                "amount": "1",
                "min_amount": "0.01",
            },
        ),
        402,
        "insufficient_credits",
    )


def test_release_and_each_hold_resolves_once(api: Any, setup: Setup, clock: Any) -> None:
    setup.grant("10")
    released = hold(setup, "4")
    out = api.ok("POST", f"/v1/holds/{released['id']}/release", json={"reason": "cancelled"})
    assert (out["status"], out["reason"], out["available_after"]) == (
        "released",
        "cancelled",
        "10.00",
    )
    captured = hold(setup, "1")
    capture(setup, captured["id"], event=event("c", 1))
    expired = hold(setup, "1", timeout_s=1)
    clock.advance(timedelta(seconds=1))
    for hold_id, code in [
        (released["id"], "hold_already_released"),
        (captured["id"], "hold_already_captured"),
        (expired["id"], "hold_expired"),
    ]:
        assert_problem(api.post(f"/v1/holds/{hold_id}/release"), 409, code)
        again = api.post(f"/v1/holds/{hold_id}/capture", json={"event": event(f"x{code}", 1)})
        assert_problem(again, 409, code)
    assert balance(setup) == ("9.00", "0.00", "0.00")


def test_expiry_is_read_lazily_and_booked_by_the_clock(
    api: Any, setup: Setup, clock: Any, database: Any
) -> None:
    setup.grant("10")
    created = hold(setup, "4", timeout_s=60)
    clock.advance(timedelta(seconds=59))
    assert balance(setup)[1] == "4.00"
    clock.advance(timedelta(seconds=1))
    assert balance(setup) == ("10.00", "0.00", "0.00")
    got = api.ok("GET", f"/v1/holds/{created['id']}")
    assert got["status"] == "expired" and got["resolved_at"] == got["expires_at"]
    listed = api.ok("GET", f"/v1/customers/{setup.customer['id']}/holds?status=expired")["data"]
    assert [h["id"] for h in listed] == [created["id"]]
    assert api.ok("GET", f"/v1/customers/{setup.customer['id']}/holds?status=active")["data"] == []
    assert sweep_once(database, clock.now()) == 1
    assert sweep_once(database, clock.now()) == 0
    assert api.ok("GET", f"/v1/holds/{created['id']}")["status"] == "expired"


def test_ordinary_ingest_never_fails_because_of_holds(
    api: Any, setup: Setup, ledger_checked: None
) -> None:
    setup.grant("10")
    hold(setup, "8")
    ingest(api, {**event("over", 7), "customer_id": setup.customer["id"]})
    # Usage is a fact: it drew 7 of 10; the hold still reserves 8, so nothing is available.
    assert balance(setup) == ("0.00", "8.00", "0.00")
    access = api.ok("GET", f"/v1/customers/{setup.customer['id']}/access?meter=api_calls")
    assert access["has_access"] is False


def test_list_filters_validation_and_idempotency(api: Any, setup: Setup, make_api: Any) -> None:
    setup.grant("10")
    first = hold(setup, "1")
    second = hold(setup, "2")
    api.ok("POST", f"/v1/holds/{first['id']}/release")
    listed = api.ok("GET", "/v1/holds", params={"customer_id": setup.customer["id"]})["data"]
    assert [h["id"] for h in listed] == [second["id"], first["id"]]
    active = api.ok("GET", "/v1/holds?status=active")["data"]
    assert [h["id"] for h in active] == [second["id"]]
    refused: list[dict[str, Any]] = [
        {"timeout_s": 0},
        {"timeout_s": 86_401},
        {"amount": "0"},
        {"min_amount": "3"},
    ]
    for bad in refused:
        body = {"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": "2", **bad}
        assert_problem(api.post("/v1/holds", json=body), 422, "validation_error")
    body = {"customer_id": setup.customer["id"], "currency_id": setup.currency["id"], "amount": "1"}
    key = {"Idempotency-Key": "hold-once"}
    one = api.post("/v1/holds", json=body, headers=key)
    two = api.post("/v1/holds", json=body, headers=key)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert two.headers["Idempotent-Replayed"] == "true"
    assert balance(setup)[1] == "3.00"
    # Another organization sees none of it.
    other = make_api()
    assert_problem(other.get(f"/v1/holds/{second['id']}"), 404, "not_found")
    assert other.ok("GET", "/v1/holds")["data"] == []


def test_read_key_cannot_hold_and_ingest_key_can(make_api: Any, api: Any, setup: Setup) -> None:
    setup.grant("10")
    body = {"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": "1"}
    reader = make_api(scope="read", organization_id=api.tenant.organization_id)
    assert_problem(reader.post("/v1/holds", json=body), 403, "insufficient_scope")
    ingester = make_api(scope="ingest", organization_id=api.tenant.organization_id)
    created = ingester.ok("POST", "/v1/holds", 201, json=body)
    ingester.ok("POST", f"/v1/holds/{created['id']}/capture", json={"event": event("i", 1)})


def test_deleting_a_customer_releases_its_holds(
    api: Any, setup: Setup, ledger_checked: None
) -> None:
    setup.grant("10")
    created = hold(setup, "4")
    api.ok("DELETE", f"/v1/customers/{setup.customer['id']}", 204)
    got = api.ok("GET", f"/v1/holds/{created['id']}")
    assert (got["status"], got["reason"]) == ("released", "customer_deleted")


def test_a_hold_sees_the_holds_before_it(api: Any, setup: Setup) -> None:
    setup.grant("10")
    hold(setup, "6")
    body = assert_problem(
        api.post(
            "/v1/holds",
            json={"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": "6"},
        ),
        402,
        "insufficient_credits",
    )
    assert (body["available"], body["requested"]) == ("4.00", "6.00")
    assert hold(setup, "6", min_amount="1")["amount"] == "4.00"
