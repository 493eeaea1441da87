"""Balance alerts and holds: an alert on the available balance counts active holds, whichever
transaction moves it (a hold placed, captured, released or expired, ingest and grants while
a hold is active); an alert on the ledger balance does not move with holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drawdown.clock import ManualClock
from drawdown.credits.clock import sweep_once
from drawdown.db.engine import Database
from tests.alerts.test_alerts import alert, events, use
from tests.credits.conftest import Setup

BOTH_WAYS = ["triggered", "resolved"]


def hold(setup: Setup, amount: str, **extra: Any) -> Any:
    body = {"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": amount}
    return setup.api.ok("POST", "/v1/holds", 201, json={**body, **extra})


def crossings(setup: Setup) -> list[tuple[str, str, str]]:
    """(type, balance, previous_balance) of every alert event so far, oldest first."""
    log = setup.api.ok("GET", "/v1/webhooks/events", params={"limit": 100})["data"]
    return [
        (e["type"], e["data"]["balance"], e["data"]["previous_balance"])
        for e in reversed(log)
        if "alert_id" in e["data"]
    ]


def test_a_hold_fires_and_its_release_or_capture_rearms(setup: Setup) -> None:
    api = setup.api
    alert(setup, thresholds=[{"code": "low", "value": "50", "notify_on": BOTH_WAYS}],
          rearm_margin="5")  # fmt: skip
    setup.grant("100")
    first = hold(setup, "60")  # available 40: at or below 50
    (low,) = events(api, "credit.balance_low")
    assert (low["balance"], low["previous_balance"], low["balance_type"]) == (
        "40.00",
        "100.00",
        "available",
    )
    hold(setup, "5")  # 35: still in alarm, no second event
    assert len(events(api, "credit.balance_low")) == 1
    api.ok("POST", f"/v1/holds/{first['id']}/release", json={})  # 95: re-armed
    (recovered,) = [e for e in events(api, "credit.balance_recovered") if "alert_id" in e]
    assert (recovered["balance"], recovered["previous_balance"]) == ("95.00", "35.00")

    second = hold(setup, "50")  # 45: fires again
    event = {"identifier": "h-cap", "name": "api_calls", "properties": {"units": 20}}
    api.ok("POST", f"/v1/holds/{second['id']}/capture", json={"event": event})  # 75: re-armed
    assert crossings(setup) == [
        ("credit.balance_low", "40.00", "100.00"),
        ("credit.balance_recovered", "95.00", "35.00"),
        ("credit.balance_low", "45.00", "95.00"),
        ("credit.balance_recovered", "75.00", "45.00"),
    ]
    # A hold reserves credits, it does not spend them: nothing here "depleted" the balance.
    assert events(api, "credit.balance_depleted") == []
    state = api.ok("GET", f"/v1/customers/{setup.customer['id']}/alerts")["data"][0]
    assert state["thresholds"][0]["state"] == "ok"


def test_ingest_and_grants_see_the_holds_already_active(setup: Setup) -> None:
    alert(setup, thresholds=[{"code": "low", "value": "50", "notify_on": BOTH_WAYS}],
          rearm_margin="5")  # fmt: skip
    setup.grant("100")
    hold(setup, "40")  # 60: above
    assert crossings(setup) == []
    use(setup, 15)  # ledger 85, available 45: ingest counts the hold
    assert crossings(setup) == [("credit.balance_low", "45.00", "60.00")]
    setup.grant("8")  # available 53: above 50, not above 55
    assert len(crossings(setup)) == 1
    setup.grant("5")  # 58: re-armed by a grant write
    assert crossings(setup)[1:] == [("credit.balance_recovered", "58.00", "53.00")]


def test_a_hold_expiring_rearms_when_the_clock_books_it(
    setup: Setup, database: Database, clock: ManualClock
) -> None:
    alert(setup, thresholds=[{"code": "low", "value": "50", "notify_on": BOTH_WAYS}])
    setup.grant("100")
    hold(setup, "70", timeout_s=30)
    assert crossings(setup) == [("credit.balance_low", "30.00", "100.00")]
    clock.advance(timedelta(seconds=31))
    assert sweep_once(database, clock.now()) == 1
    assert crossings(setup)[1:] == [("credit.balance_recovered", "100.00", "30.00")]


def test_a_ledger_alert_does_not_move_with_holds(setup: Setup) -> None:
    alert(setup, thresholds=[{"code": "low", "value": "50"}], balance_type="ledger")
    setup.grant("100")
    placed = hold(setup, "90")
    setup.api.ok("POST", f"/v1/holds/{placed['id']}/release", json={})
    assert crossings(setup) == []
    use(setup, 55)  # the ledger itself goes to 45
    assert crossings(setup) == [("credit.balance_low", "45.00", "100.00")]
