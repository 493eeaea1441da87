"""Credit grants over HTTP: create, statuses through the clock, void, expire, balances."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from drawdown.credits.clock import sweep_once
from tests.test_errors import assert_problem


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_create_and_retrieve(api: Any, setup: Any, ledger_checked: None) -> None:
    created = setup.grant(
        "10", name="Welcome", category="promotional", priority=10, metadata={"why": "signup"}
    )
    assert created["id"].startswith("cgr_") and created["object"] == "credit_grant"
    assert (created["amount"], created["remaining"], created["status"]) == (
        "10.00",
        "10.00",
        "active",
    )
    assert created["category"] == "promotional" and created["priority"] == 10
    assert api.ok("GET", f"/v1/credit-grants/{created['id']}") == created
    assert setup.available() == "10.00"
    ledger = api.ok("GET", f"/v1/credit-transactions?customer_id={setup.customer['id']}")["data"]
    assert [(e["type"], e["amount"], e["balance_after"], e["sequence"]) for e in ledger] == [
        ("grant", "10.00", "10.00", 1)
    ]


def test_grant_by_external_customer_and_meter(api: Any, setup: Any) -> None:
    body = {"external_customer_id": "c1", "meter_id": setup.meter["id"], "amount": "2.5"}
    created = api.ok("POST", "/v1/credit-grants", 201, json=body)
    assert created["currency_id"] == setup.currency["id"] and created["amount"] == "2.50"
    by_event_name = {**body, "meter_id": "api_calls"}
    assert api.ok("POST", "/v1/credit-grants", 201, json=by_event_name)["amount"] == "2.50"


def test_amounts_are_exact_and_validated(api: Any, setup: Any) -> None:
    for amount, reason in (
        ("1.005", "decimal places"),
        ("-1", "negative"),
        ("0", "greater than zero"),
        ("abc", "decimal"),
        ("1e30", "too large"),
    ):
        response = api.post(
            "/v1/credit-grants",
            json={
                "customer_id": setup.customer["id"],
                "currency_id": setup.currency["id"],
                "amount": amount,
            },
        )
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"][0]["loc"] == ["body", "amount"], amount
        assert reason in body["errors"][0]["msg"], (amount, body)
    assert setup.grant("0.01")["amount"] == "0.01"
    assert setup.grant("123456789.99")["remaining"] == "123456789.99"


def test_bad_references_and_times(api: Any, setup: Any, clock: Any) -> None:
    now = clock.now()
    cases = [
        ({"customer_id": "cus_" + "0" * 32}, ["body", "customer_id"]),
        ({"currency_id": "cur_" + "0" * 32}, ["body", "currency_id"]),
        ({"meter_id": setup.meter["id"]}, ["body", "currency_id"]),  # both given
        ({"expires_at": iso(now - timedelta(hours=1))}, ["body", "expires_at"]),
        (
            {
                "effective_at": iso(now + timedelta(hours=2)),
                "expires_at": iso(now + timedelta(hours=1)),
            },
            ["body", "expires_at"],
        ),
        ({"priority": 101}, ["body", "priority"]),
        ({"category": "gift"}, ["body", "category"]),
    ]
    base = {"customer_id": setup.customer["id"], "currency_id": setup.currency["id"], "amount": "1"}
    for extra, loc in cases:
        body = assert_problem(
            api.post("/v1/credit-grants", json={**base, **extra}), 422, "validation_error"
        )
        assert loc in [e["loc"] for e in body["errors"]], (extra, body)


def test_pending_grant_activates_at_effective_at(
    api: Any, setup: Any, clock: Any, database: Any, ledger_checked: None
) -> None:
    start = clock.now()
    created = setup.grant("5", effective_at=iso(start + timedelta(hours=1)))
    assert created["status"] == "pending"
    assert setup.balance()["pending"] == "5.00" and setup.available() == "0.00"
    clock.advance(timedelta(hours=1))
    # Active for every read at once, before the background clock books it.
    assert api.ok("GET", f"/v1/credit-grants/{created['id']}")["status"] == "active"
    assert setup.available() == "5.00"
    assert api.ok("GET", "/v1/credit-transactions")["data"] == []
    assert sweep_once(database, clock.now()) == 1
    assert [e["type"] for e in api.ok("GET", "/v1/credit-transactions")["data"]] == ["grant"]
    assert sweep_once(database, clock.now()) == 0


def test_expiry_is_immediate_for_reads_and_booked_by_the_clock(
    api: Any, setup: Any, clock: Any, database: Any, ledger_checked: None
) -> None:
    start = clock.now()
    created = setup.grant("5", expires_at=iso(start + timedelta(days=1)))
    balance = setup.balance()
    assert (
        balance["next_expiry_at"] == created["expires_at"]
        and balance["next_expiry_amount"] == "5.00"
    )
    clock.advance(timedelta(days=1))
    assert api.ok("GET", f"/v1/credit-grants/{created['id']}")["status"] == "expired"
    assert setup.available() == "0.00"
    assert [g["id"] for g in api.ok("GET", "/v1/credit-grants?status=expired")["data"]] == [
        created["id"]
    ]
    assert api.ok("GET", "/v1/credit-grants?status=active")["data"] == []
    # The expiration is booked an expiry grace (default 1 h) after expires_at.
    assert sweep_once(database, clock.now()) == 0
    clock.advance(timedelta(minutes=59))
    assert sweep_once(database, clock.now()) == 0
    assert len(api.ok("GET", "/v1/credit-transactions")["data"]) == 1
    clock.advance(timedelta(minutes=1))
    assert sweep_once(database, clock.now()) == 1
    entries = api.ok("GET", "/v1/credit-transactions")["data"]
    assert [(e["type"], e["amount"], e["balance_after"]) for e in entries] == [
        ("expiration", "-5.00", "0.00"),
        ("grant", "5.00", "5.00"),
    ]


def test_void_and_expire_now(api: Any, setup: Any, ledger_checked: None) -> None:
    a, b = setup.grant("3"), setup.grant("4")
    voided = api.ok("POST", f"/v1/credit-grants/{a['id']}/void")
    assert (voided["status"], voided["remaining"]) == ("voided", "0.00")
    expired = api.ok("POST", f"/v1/credit-grants/{b['id']}/expire")
    assert (expired["status"], expired["remaining"]) == ("expired", "0.00")
    assert expired["expires_at"] is not None
    assert setup.available() == "0.00"
    assert_problem(api.post(f"/v1/credit-grants/{a['id']}/void"), 409, "grant_closed")
    assert_problem(api.post(f"/v1/credit-grants/{b['id']}/void"), 409, "grant_closed")
    assert_problem(api.post("/v1/credit-grants/cgr_nope/void"), 404, "not_found")
    types = [e["type"] for e in api.ok("GET", "/v1/credit-transactions")["data"]]
    assert types == ["expiration", "void", "grant", "grant"]


def test_grant_idempotency(api: Any, setup: Any) -> None:
    body = {"customer_id": setup.customer["id"], "currency_id": setup.currency["id"], "amount": "7"}
    headers = {"Idempotency-Key": "grant-7"}
    first = api.ok("POST", "/v1/credit-grants", 201, json=body, headers=headers)
    second = api.ok("POST", "/v1/credit-grants", 201, json=body, headers=headers)
    assert first == second and setup.available() == "7.00"
    assert_problem(
        api.post("/v1/credit-grants", json={**body, "amount": "8"}, headers=headers),
        409,
        "idempotency_key_reused",
    )
    void_headers = {"Idempotency-Key": "void-1"}
    api.ok("POST", f"/v1/credit-grants/{first['id']}/void", headers=void_headers)
    replay = api.post(f"/v1/credit-grants/{first['id']}/void", headers=void_headers)
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"


def test_lists_and_filters(api: Any, setup: Any) -> None:
    other = api.ok("POST", "/v1/customers", 201, json={"external_id": "c2"})
    mine = [setup.grant(str(i + 1)) for i in range(3)]
    theirs = api.ok(
        "POST",
        "/v1/credit-grants",
        201,
        json={"customer_id": other["id"], "currency_id": setup.currency["id"], "amount": "9"},
    )
    listed = api.ok("GET", f"/v1/credit-grants?customer_id={setup.customer['id']}&limit=2")
    assert [g["id"] for g in listed["data"]] == [mine[2]["id"], mine[1]["id"]] and listed[
        "has_more"
    ]
    rest = api.ok(
        "GET",
        f"/v1/credit-grants?customer_id={setup.customer['id']}&starting_after={mine[1]['id']}",
    )
    assert [g["id"] for g in rest["data"]] == [mine[0]["id"]] and not rest["has_more"]
    assert [
        g["id"] for g in api.ok("GET", f"/v1/credit-grants?customer_id={other['id']}")["data"]
    ] == [theirs["id"]]
    assert len(api.ok("GET", f"/v1/credit-grants?currency_id={setup.currency['id']}")["data"]) == 4
    entries = api.ok("GET", f"/v1/credit-transactions?grant_id={theirs['id']}")["data"]
    assert len(entries) == 1 and entries[0]["customer_id"] == other["id"]
    assert api.ok("GET", f"/v1/credit-transactions/{entries[0]['id']}") == entries[0]
    assert_problem(api.get("/v1/credit-transactions?type=bogus"), 422, "validation_error")
    assert_problem(api.get("/v1/credit-grants?customer_id=zzz"), 422, "validation_error")


def test_access_check(api: Any, setup: Any) -> None:
    path = f"/v1/customers/{setup.customer['id']}/access"
    denied = api.ok("GET", f"{path}?meter=api_calls")
    assert denied["has_access"] is False and denied["available"] == "0.00"
    setup.grant("1")
    allowed = api.ok("GET", f"{path}?meter={setup.meter['id']}")
    assert allowed["has_access"] is True and allowed["available"] == "1.00"
    assert (
        allowed["meter_id"] == setup.meter["id"] and allowed["currency_id"] == setup.currency["id"]
    )
    assert api.ok("GET", "/v1/customers/external/c1/access?meter=api_calls")["available"] == "1.00"
    assert_problem(api.get(f"{path}?meter=nope"), 422, "validation_error")
    assert_problem(api.get("/v1/customers/cus_nope/access?meter=api_calls"), 404, "not_found")


def test_tenants_are_isolated(make_api: Any, api: Any, setup: Any) -> None:
    grant = setup.grant("5")
    other = make_api()
    assert other.get(f"/v1/credit-grants/{grant['id']}").status_code == 404
    assert other.ok("GET", "/v1/credit-grants")["data"] == []
    assert other.ok("GET", "/v1/credit-transactions")["data"] == []
    assert other.get(f"/v1/customers/{setup.customer['id']}/balances").status_code == 404
    body = {"customer_id": setup.customer["id"], "currency_id": setup.currency["id"], "amount": "1"}
    assert_problem(other.post("/v1/credit-grants", json=body), 422, "validation_error")


def test_status_filter_pages_are_full_and_exact(
    api: Any, setup: Any, clock: Any, database: Any, ledger_checked: None
) -> None:
    """The status is the one each grant reads as now (some not yet booked by the clock),
    and it is applied in the query: every page but the last holds ``limit`` grants, and
    ``has_more`` is false on the last one."""
    start = clock.now()
    expiring = [setup.grant("1", expires_at=iso(start + timedelta(hours=1))) for _ in range(3)]
    lasting = [setup.grant("1") for _ in range(4)]
    future = setup.grant("1", effective_at=iso(start + timedelta(minutes=30)))
    clock.advance(timedelta(hours=2))  # expiring: expired; future: active; nothing booked

    def pages(status: str, limit: int) -> list[tuple[list[str], bool]]:
        out: list[tuple[list[str], bool]] = []
        after: str | None = None
        for _ in range(10):
            params: dict[str, Any] = {"status": status, "limit": limit}
            if after is not None:
                params["starting_after"] = after
            page = api.ok("GET", "/v1/credit-grants", params=params)
            out.append(([g["id"] for g in page["data"]], page["has_more"]))
            if not page["has_more"]:
                return out
            after = page["data"][-1]["id"]
        raise AssertionError("too many pages")

    active = [future["id"], *[g["id"] for g in reversed(lasting)]]
    assert pages("active", 2) == [(active[:2], True), (active[2:4], True), (active[4:], False)]
    expired = [g["id"] for g in reversed(expiring)]
    assert pages("expired", 2) == [(expired[:2], True), (expired[2:], False)]
    assert pages("pending", 2) == [([], False)]
    sweep_once(database, clock.now())  # booked: the same answers
    assert pages("active", 5) == [(active, False)]
    assert pages("expired", 3) == [(expired, False)]
