"""Top-ups through the native API on real storage: threshold rules decided inside ingest,
external settlement (confirm, fail, expiry), limits, defaults, manual top-ups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from drawdown.db.engine import Database
from drawdown.db.tables import webhook_events
from drawdown.topups.clock import expire_pending
from tests.credits.conftest import Setup
from tests.helpers import ingest
from tests.test_errors import assert_problem


def use(setup: Setup, identifier: str, units: float) -> Any:
    event = {
        "identifier": identifier,
        "name": "api_calls",
        "external_customer_id": "c1",
        "properties": {"units": units},
    }
    return ingest(setup.api, event)


def rule(setup: Setup, status: int = 201, **body: Any) -> Any:
    base = {"currency_id": setup.currency["id"], "trigger": "threshold"}
    url = f"/v1/customers/{setup.customer['id']}/topup-rules"
    return setup.api.ok("POST", url, status, json={**base, **body})


def topups(setup: Setup, **params: Any) -> list[dict[str, Any]]:
    url = f"/v1/customers/{setup.customer['id']}/topups"
    return list(setup.api.ok("GET", url, params=params)["data"])


def events(database: Database, prefix: str = "topup.") -> list[tuple[str, dict[str, Any]]]:
    with database.read() as conn:
        rows = conn.execute(
            select(webhook_events.c.type, webhook_events.c.data).order_by(webhook_events.c.id)
        )
        return [(row.type, row.data) for row in rows if row.type.startswith(prefix)]


def test_threshold_auto_top_up_lands_in_the_ingest_transaction(
    setup: Setup, database: Database, ledger_checked: None
) -> None:
    setup.grant("10")
    created = rule(
        setup,
        threshold="3",
        amount="5",
        grant_template={"category": "promotional", "name": "Refill", "expires_after": "P30D"},
    )
    assert created["id"].startswith("tpr_") and created["threshold"] == "3.00"
    use(setup, "e1", 6)  # 10 -> 4: above 3, nothing
    assert topups(setup) == []
    use(setup, "e2", 2)  # 4 -> 2: at or below 3 -> one multiple of 5 lifts it to 7
    made = topups(setup)
    assert [(t["amount"], t["status"], t["reason"]) for t in made] == [
        ("5.00", "succeeded", "threshold")
    ]
    assert setup.available() == "7.00"
    grant = setup.api.ok("GET", f"/v1/credit-grants/{made[0]['grant_id']}")
    assert (grant["name"], grant["category"], grant["amount"]) == ("Refill", "promotional", "5.00")
    assert grant["expires_at"] is not None
    # The grant is announced as any other; the top-up with its own event.
    grant_events = [d for t, d in events(database, "credit_grant.created")]
    assert made[0]["grant_id"] in {d["grant_id"] for d in grant_events}
    assert [t for t, _ in events(database)] == ["topup.succeeded"]


def test_fixed_closes_the_gap_in_whole_multiples_and_pays_debt_first(
    setup: Setup, ledger_checked: None
) -> None:
    setup.grant("1")
    rule(setup, threshold="2", amount="5")
    use(setup, "e1", 14)  # 1 - 14 = -13 (13 of debt): gap to 2 is 15 -> 4 x 5 = 20
    made = topups(setup)
    assert [t["amount"] for t in made] == ["20.00"]
    balance = setup.balance()
    assert (balance["available"], balance["debt"]) == ("7.00", "0.00")


def test_target_tops_up_to_the_target(setup: Setup, ledger_checked: None) -> None:
    setup.grant("10")
    assert rule(setup, threshold="2", method="target", target_balance="2", status=422)
    rule(setup, threshold="2", method="target", target_balance="25")
    use(setup, "e1", 9.5)
    assert [t["amount"] for t in topups(setup)] == ["24.50"]
    assert setup.available() == "25.00"


def test_external_pending_counts_confirm_twice_fail_then_back_off(
    setup: Setup, database: Database, clock: Any, ledger_checked: None
) -> None:
    api = setup.api
    setup.grant("10")
    rule(setup, threshold="5", amount="10", settlement="external",
         limits={"decline_backoff_s": 600})  # fmt: skip
    use(setup, "e1", 6)  # 4: requested
    use(setup, "e2", 1)  # 3, but 3 + 10 pending > 5: no second request
    pending = topups(setup)
    assert [(t["status"], t["amount"]) for t in pending] == [("pending", "10.00")]
    assert pending[0]["expires_at"] is not None and pending[0]["grant_id"] is None
    assert setup.available() == "3.00"
    tid = pending[0]["id"]

    key = {"Idempotency-Key": "confirm-1"}
    body = {"external_reference": "pi_123"}
    first = api.ok("POST", f"/v1/topups/{tid}/confirm", json=body, headers=key)
    assert (first["status"], first["external_reference"]) == ("succeeded", "pi_123")
    assert setup.available() == "13.00"
    replay = api.post(f"/v1/topups/{tid}/confirm", json=body, headers=key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first
    again = api.post(f"/v1/topups/{tid}/confirm", json=body)
    assert_problem(again, 409, "topup_succeeded")
    assert setup.available() == "13.00"  # one grant, whatever was retried

    use(setup, "e3", 9)  # 4: a new request
    second = [t for t in topups(setup, status="pending")]
    assert len(second) == 1
    failed = api.ok("POST", f"/v1/topups/{second[0]['id']}/fail", json={"reason": "card declined"})
    assert (failed["status"], failed["failure_reason"]) == ("failed", "card declined")
    assert_problem(api.post(f"/v1/topups/{second[0]['id']}/confirm", json={}), 409, "topup_failed")
    use(setup, "e4", 1)  # 3, in the back-off: nothing
    assert len(topups(setup)) == 2
    clock.advance(timedelta(seconds=601))
    use(setup, "e5", 1)  # 2, back-off over: requested again
    assert [t["status"] for t in topups(setup)] == ["pending", "failed", "succeeded"]
    kinds = [t for t, _ in events(database)]
    assert kinds == [
        "topup.requested",
        "topup.succeeded",
        "topup.requested",
        "topup.failed",
        "topup.requested",
    ]


def test_an_unconfirmed_top_up_expires(
    setup: Setup, database: Database, clock: Any, ledger_checked: None
) -> None:
    setup.grant("10")
    rule(setup, threshold="5", amount="10", settlement="external", pending_ttl_s=120,
         limits={"decline_backoff_s": 0})  # fmt: skip
    use(setup, "e1", 6)
    (pending,) = topups(setup)
    assert expire_pending(database, clock.now()) == 0
    clock.advance(timedelta(seconds=121))
    # Read as expired before the clock books it; a confirm is refused.
    assert setup.api.ok("GET", f"/v1/topups/{pending['id']}")["status"] == "expired"
    assert_problem(setup.api.post(f"/v1/topups/{pending['id']}/confirm"), 409, "topup_expired")
    assert expire_pending(database, clock.now()) == 1
    assert expire_pending(database, clock.now()) == 0
    assert [t for t, _ in events(database)] == ["topup.requested", "topup.expired"]
    use(setup, "e2", 1)  # no longer pending: the shortfall is requested again
    assert [t["status"] for t in topups(setup)] == ["pending", "expired"]
    assert setup.available() == "3.00"


def test_caps_and_cooldown(setup: Setup, clock: Any, ledger_checked: None) -> None:
    setup.grant("3")
    rule(setup, threshold="2", amount="1",
         limits={"max_per_day": 2, "max_amount_per_day": "3", "cooldown_s": 60})  # fmt: skip
    use(setup, "e1", 2)  # 1: +2 (gap 1 -> 2 multiples) = 3
    assert [t["amount"] for t in topups(setup)] == ["2.00"]
    use(setup, "e2", 2)  # 1 again, in the cooldown: nothing
    assert len(topups(setup)) == 1 and setup.available() == "1.00"
    clock.advance(timedelta(seconds=61))
    use(setup, "e3", 0.5)  # 0.5: needs 2, only 1 left of the day's 3
    assert [t["amount"] for t in topups(setup)] == ["1.00", "2.00"]
    clock.advance(timedelta(seconds=61))
    use(setup, "e4", 1)  # max_per_day reached
    assert len(topups(setup)) == 2
    clock.advance(timedelta(days=1))
    use(setup, "e5", 0.5)  # a new 24 hours
    assert len(topups(setup)) == 3


def test_organization_default_and_the_customers_own_rule(
    setup: Setup, api: Any, ledger_checked: None
) -> None:
    other = api.ok("POST", "/v1/customers", 201, json={"external_id": "c2"})
    for customer in (setup.customer, other):
        api.ok("POST", "/v1/credit-grants", 201, json={
            "customer_id": customer["id"], "currency_id": setup.currency["id"], "amount": "5"})  # fmt: skip
    default = api.ok("POST", "/v1/topup-rules", 201, json={
        "currency_id": setup.currency["id"], "trigger": "threshold", "threshold": "1",
        "amount": "1"})  # fmt: skip
    assert default["customer_id"] is None
    rule(setup, threshold="1", amount="7")  # c1's own wins over the default
    ingest(api, *[
        {"identifier": f"x{n}", "name": "api_calls", "external_customer_id": c,
         "properties": {"units": 4.5}} for n, c in enumerate(["c1", "c2"])])  # fmt: skip
    mine = topups(setup)
    theirs = api.ok("GET", f"/v1/customers/{other['id']}/topups")["data"]
    assert [t["amount"] for t in mine] == ["7.00"]
    assert [(t["amount"], t["rule_id"]) for t in theirs] == [("1.00", default["id"])]
    listed = api.ok("GET", f"/v1/customers/{setup.customer['id']}/topup-rules")["data"]
    assert len(listed) == 2
    assert len(api.ok("GET", "/v1/topup-rules", params={"defaults_only": "true"})["data"]) == 1


def test_holds_count_against_the_threshold(setup: Setup, ledger_checked: None) -> None:
    setup.grant("10")
    rule(setup, threshold="5", amount="10")
    hold = {"customer_id": setup.customer["id"], "meter_id": "api_calls", "amount": "4"}
    setup.api.ok("POST", "/v1/holds", 201, json=hold)  # available 6
    use(setup, "e1", 1.5)  # remaining 8.5, held 4: available 4.5 <= 5
    assert [t["amount"] for t in topups(setup)] == ["10.00"]
    assert setup.balance()["available"] == "14.50"


def test_manual_top_ups_with_idempotency_key(
    setup: Setup, database: Database, ledger_checked: None
) -> None:
    api = setup.api
    url = f"/v1/customers/{setup.customer['id']}/topups"
    body = {"currency_id": setup.currency["id"], "amount": "12.5", "metadata": {"order": "o-1"}}
    key = {"Idempotency-Key": "manual-1"}
    first = api.ok("POST", url, 201, json=body, headers=key)
    assert (first["status"], first["reason"], first["amount"]) == ("succeeded", "manual", "12.50")
    replay = api.post(url, json=body, headers=key)
    assert replay.status_code == 201 and replay.json() == first
    assert setup.available() == "12.50"
    external = api.ok(
        "POST", "/v1/customers/external/c1/topups", 201,
        json={"meter_id": "api_calls", "amount": "3", "settlement": "external"},
    )  # fmt: skip
    assert external["status"] == "pending" and setup.available() == "12.50"
    api.ok("POST", f"/v1/topups/{external['id']}/confirm")
    assert setup.available() == "15.50"
    assert len(api.ok("GET", "/v1/topups", params={"status": "succeeded"})["data"]) == 2


def test_rules_are_checked_and_managed(setup: Setup, api: Any) -> None:
    bad = api.post(
        f"/v1/customers/{setup.customer['id']}/topup-rules",
        json={"currency_id": setup.currency["id"], "trigger": "threshold", "amount": "-1",
              "grant_template": {"expires_after": "90 days"}},
    )  # fmt: skip
    assert_problem(bad, 422, "validation_error")
    locs = {tuple(e["loc"]) for e in bad.json()["errors"]}
    assert ("body", "threshold") in locs and ("body", "amount") in locs
    assert ("body", "grant_template", "expires_after") in locs
    for flag in (0, "yes"):
        response = api.post(
            "/v1/topup-rules",
            json={"currency_id": setup.currency["id"], "trigger": "threshold",
                  "threshold": "1", "amount": "1", "enabled": flag},
        )  # fmt: skip
        assert_problem(response, 422, "validation_error")
    created = rule(setup, threshold="1", amount="2")
    patched = api.ok("PATCH", f"/v1/topup-rules/{created['id']}", json={"amount": "3"})
    assert patched["amount"] == "3.00" and patched["threshold"] == "1.00"
    assert api.ok("POST", f"/v1/topup-rules/{created['id']}/disable")["enabled"] is False
    assert api.ok("POST", f"/v1/topup-rules/{created['id']}/enable")["enabled"] is True
    switched = api.ok(
        "PATCH", f"/v1/topup-rules/{created['id']}",
        json={"method": "target", "target_balance": "9"},
    )  # fmt: skip
    assert (switched["method"], switched["amount"], switched["target_balance"]) == (
        "target", None, "9.00")  # fmt: skip
    api.ok("DELETE", f"/v1/topup-rules/{created['id']}", 204)
    assert_problem(api.get(f"/v1/topup-rules/{created['id']}"), 404, "not_found")
    assert_problem(api.get("/v1/topups/tup_nope"), 404, "not_found")
    # Defaults are threshold rules only.
    response = api.post(
        "/v1/topup-rules",
        json={"currency_id": setup.currency["id"], "trigger": "schedule", "interval": "month",
              "amount": "1"},
    )  # fmt: skip
    assert_problem(response, 422, "validation_error")


def test_a_void_or_a_deleted_customer_makes_no_top_up(
    setup: Setup, api: Any, ledger_checked: None
) -> None:
    grant = setup.grant("10")
    rule(setup, threshold="5", amount="10")
    api.ok("POST", f"/v1/credit-grants/{grant['id']}/void")  # 10 -> 0: taken away, not used
    assert topups(setup) == []
    setup.grant("6")
    api.ok("DELETE", f"/v1/customers/{setup.customer['id']}", 204)
    assert api.ok("GET", "/v1/topups")["data"] == []
