"""Alerts have state: one event per crossing, re-armed only past the margin,
evaluated in the transaction that moved the balance (ingest, grants, voids, the clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from drawdown.clock import ManualClock
from drawdown.credits.clock import sweep_once
from drawdown.db.engine import Database
from drawdown.db.tables import balance_alert_states
from tests.credits.conftest import Setup
from tests.dialects.test_query_counts import counted

_seq = iter(range(1_000_000))


def use(setup: Setup, units: int) -> None:
    event = {
        "identifier": f"u{next(_seq)}",
        "name": "api_calls",
        "external_customer_id": "c1",
        "properties": {"units": units},
    }
    setup.api.ok("POST", "/v1/events/ingest", json={"events": [event]})


def events(api: Any, type_: str) -> list[dict[str, Any]]:
    data = api.ok("GET", "/v1/webhooks/events", params={"type": type_, "limit": 100})["data"]
    return [e["data"] for e in reversed(data)]  # oldest first


def alert(setup: Setup, status: int = 201, **body: Any) -> Any:
    body.setdefault("currency_id", setup.currency["id"])
    return setup.api.ok("POST", f"/v1/customers/{setup.customer['id']}/alerts", status, json=body)


def test_one_event_per_crossing_and_rearm_only_past_the_margin(setup: Setup) -> None:
    api = setup.api
    created = alert(
        setup,
        thresholds=[{"code": "low", "value": "50", "notify_on": ["triggered", "resolved"]}],
        rearm_margin="20",
    )
    assert created["thresholds"][0]["state"] is None  # seeded on the first move
    setup.grant("100")
    use(setup, 30)  # 70: above
    assert events(api, "credit.balance_low") == []
    use(setup, 25)  # 45: crosses
    use(setup, 10)  # 35: still in alarm, no second event
    (low,) = events(api, "credit.balance_low")
    assert (low["threshold_code"], low["threshold"], low["balance"], low["previous_balance"]) == (
        "low", "50.00", "45.00", "70.00",
    )  # fmt: skip
    assert low["alert_id"] == created["id"] and low["balance_type"] == "available"
    assert low["customer_id"] == setup.customer["id"] and low["external_customer_id"] == "c1"

    setup.grant("20")  # 55: above the threshold, not above threshold + margin (70)
    use(setup, 10)  # 45: no new crossing, it never re-armed
    assert len(events(api, "credit.balance_low")) == 1
    assert events(api, "credit.balance_recovered") == []
    setup.grant("30")  # 75 > 70: re-armed
    (recovered,) = events(api, "credit.balance_recovered")
    assert recovered["threshold_code"] == "low" and recovered["balance"] == "75.00"
    use(setup, 30)  # 45: a new crossing
    assert len(events(api, "credit.balance_low")) == 2
    state = api.ok("GET", f"/v1/alerts/{created['id']}")["thresholds"][0]
    assert state["state"] == "in_alarm"


def test_several_thresholds_crossed_at_once_make_one_event(setup: Setup) -> None:
    alert(
        setup,
        thresholds=[{"code": "warn", "value": "50"}, {"code": "critical", "value": "10"}],
    )
    setup.grant("100")
    use(setup, 95)
    (low,) = events(setup.api, "credit.balance_low")
    assert low["threshold_code"] == "critical"  # the most severe first
    assert [t["code"] for t in low["thresholds"]] == ["critical", "warn"]
    assert events(setup.api, "credit.balance_depleted") == []  # 5 left
    use(setup, 5)
    assert len(events(setup.api, "credit.balance_low")) == 1
    assert len(events(setup.api, "credit.balance_depleted")) == 1


def test_no_event_while_the_balance_stays_above(setup: Setup) -> None:
    alert(setup, thresholds=[{"code": "low", "value": "10"}])
    setup.grant("100")
    for _ in range(5):
        use(setup, 5)
    assert events(setup.api, "credit.balance_low") == []


def test_organization_default_applies_to_every_customer_seeded_without_firing(
    setup: Setup,
) -> None:
    api = setup.api
    setup.grant("20")
    default = api.ok(
        "POST",
        "/v1/alerts",
        201,
        json={"currency_id": setup.currency["id"], "thresholds": [{"code": "low", "value": "50"}]},
    )
    assert default["customer_id"] is None
    other = api.ok("POST", "/v1/customers", 201, json={"external_id": "c2"})
    api.ok(
        "POST",
        "/v1/credit-grants",
        201,
        json={"customer_id": other["id"], "currency_id": setup.currency["id"], "amount": "100"},
    )
    use(setup, 5)  # c1: 20 -> 15, already below when the alert was made: no event
    event = {"identifier": "o1", "name": "api_calls", "external_customer_id": "c2",
             "properties": {"units": 60}}  # fmt: skip
    api.ok("POST", "/v1/events/ingest", json={"events": [event]})
    lows = events(api, "credit.balance_low")
    assert [e["external_customer_id"] for e in lows] == ["c2"]
    listed = api.ok("GET", f"/v1/customers/{setup.customer['id']}/alerts")["data"]
    assert [a["id"] for a in listed] == [default["id"]]
    assert listed[0]["thresholds"][0]["state"] == "in_alarm"  # seeded from the balance
    by_external = api.ok("GET", "/v1/customers/external/c2/alerts")["data"]
    assert by_external[0]["thresholds"][0]["state"] == "in_alarm"


def test_ledger_balance_alert_on_debt_and_the_clock(
    setup: Setup, database: Database, clock: ManualClock
) -> None:
    api = setup.api
    alert(setup, balance_type="ledger", thresholds=[{"code": "owing", "value": "-10"}])
    alert(setup, thresholds=[{"code": "low", "value": "5"}])
    expires = (clock.now() + timedelta(hours=1)).isoformat()
    setup.grant("8", expires_at=expires)
    use(setup, 2)  # 6 available
    clock.advance(timedelta(hours=2))
    sweep_once(database, clock.now())  # the clock books the expiry: 6 -> 0
    lows = events(api, "credit.balance_low")
    assert [(e["threshold_code"], e["balance"]) for e in lows] == [("low", "0.00")]
    assert [g["status"] for g in events(api, "credit_grant.expired")] == ["expired"]
    use(setup, 15)  # ledger -15: owing
    owing = [e for e in events(api, "credit.balance_low") if e["threshold_code"] == "owing"]
    assert [(e["balance"], e["balance_type"]) for e in owing] == [("-15.00", "ledger")]
    assert len(events(api, "credit.debt_incurred")) == 1


def test_void_moves_alerts_too(setup: Setup) -> None:
    alert(setup, thresholds=[{"code": "low", "value": "50"}])
    grant = setup.grant("100")
    setup.api.ok("POST", f"/v1/credit-grants/{grant['id']}/void")
    assert [e["balance"] for e in events(setup.api, "credit.balance_low")] == ["0.00"]
    assert len(events(setup.api, "credit_grant.voided")) == 1


def test_alert_validation_and_crud(setup: Setup) -> None:
    api = setup.api

    def bad(body: dict[str, Any], loc: list[Any]) -> None:
        response = api.post(
            f"/v1/customers/{setup.customer['id']}/alerts",
            json={"currency_id": setup.currency["id"], **body},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == loc

    bad({"thresholds": [{"code": "a", "value": "5"}, {"code": "b", "value": "5"}]},
        ["body", "thresholds", 1, "value"])  # fmt: skip
    bad({"thresholds": [{"code": "a", "value": "5.001"}]}, ["body", "thresholds", 0, "value"])
    bad({"thresholds": [{"code": "a", "value": "-1"}]}, ["body", "thresholds", 0, "value"])
    bad(
        {"thresholds": [{"code": "a", "value": "1"}], "rearm_margin": "x"}, ["body", "rearm_margin"]
    )
    bad({"thresholds": []}, ["body", "thresholds"])
    response = api.post(
        f"/v1/customers/{setup.customer['id']}/alerts",
        json={"meter_id": "nope", "thresholds": [{"code": "a", "value": "1"}]},
    )
    assert response.status_code == 422
    assert api.post("/v1/customers/cus_nope/alerts", json={}).status_code in (404, 422)
    assert api.get("/v1/alerts").json()["data"] == []

    made = alert(setup, meter_id=setup.meter["id"], currency_id=None,
                 thresholds=[{"code": "a", "value": "10"}])  # fmt: skip
    assert made["currency_id"] == setup.currency["id"]
    changed = api.ok(
        "PATCH", f"/v1/alerts/{made['id']}", json={"thresholds": [{"code": "z", "value": "3"}]}
    )
    assert [t["code"] for t in changed["thresholds"]] == ["z"]
    assert not api.ok("POST", f"/v1/alerts/{made['id']}/disable")["enabled"]
    setup.grant("5")
    use(setup, 4)  # disabled: not evaluated
    assert events(api, "credit.balance_low") == []
    assert api.ok("POST", f"/v1/alerts/{made['id']}/enable")["enabled"]
    api.ok("DELETE", f"/v1/alerts/{made['id']}", 204)
    assert api.get(f"/v1/alerts/{made['id']}").status_code == 404


def _state_statements(statements: list[str]) -> list[str]:
    return [s for s in statements if "balance_alert_states" in s]


def test_moves_above_every_band_touch_no_state(setup: Setup, database: Database) -> None:
    """Above threshold + margin the state is known from the balance: such moves read and
    write no state; the first move into the band seeds it, the crossing still fires once."""
    alert(setup, thresholds=[{"code": "low", "value": "10"}], rearm_margin="5")
    setup.grant("100")
    with counted(database) as statements:
        for _ in range(3):
            use(setup, 20)  # 80, 60, 40
    assert _state_statements(statements) == []
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(balance_alert_states)).scalar() == 0
    use(setup, 27)  # 13: inside the band (10, 15]: seeded ok
    with database.read() as conn:
        rows = conn.execute(select(balance_alert_states.c.state)).scalars().all()
    assert rows == ["ok"]
    use(setup, 4)  # 9: crosses
    (low,) = events(setup.api, "credit.balance_low")
    assert (low["balance"], low["previous_balance"]) == ("9.00", "13.00")


def test_reenabling_an_alert_starts_its_states_afresh(setup: Setup) -> None:
    """A balance that moved while the alert was off is not compared with the old state: the
    state is seeded again (without firing), so the next real crossing fires."""
    created = alert(
        setup, thresholds=[{"code": "low", "value": "50", "notify_on": ["triggered", "resolved"]}]
    )
    setup.grant("100")
    use(setup, 60)  # 40: crosses
    assert len(events(setup.api, "credit.balance_low")) == 1
    setup.api.ok("POST", f"/v1/alerts/{created['id']}/disable")
    setup.grant("160")  # 200, unseen
    setup.api.ok("POST", f"/v1/alerts/{created['id']}/enable")
    use(setup, 1)  # 199: far above, nothing to say
    assert events(setup.api, "credit.balance_recovered") == []
    use(setup, 160)  # 39: a new crossing
    assert len(events(setup.api, "credit.balance_low")) == 2
