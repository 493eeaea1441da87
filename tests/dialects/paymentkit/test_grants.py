"""Credit grant routes beyond the guide: DIDs, lists, metadata, validation, availability."""

from __future__ import annotations

from typing import Any

from tests.dialects.paymentkit.conftest import BASE
from tests.dialects.paymentkit.shapes import assert_error, assert_page, assert_shape
from tests.dialects.paymentkit.test_credit_billing import grant, report, unix
from tests.dialects.paymentkit.test_meters import create_meter


def test_a_did_becomes_a_customer_and_its_earlier_usage_is_drawn(pk: Any) -> None:
    meter = create_meter(pk)
    # Usage reported for a DID nobody has yet is kept, waiting for the customer.
    early = report(pk, "did:abc:new-user", "3", "early")
    assert (early["status"], early["credit_pending"], early["customer"]) == ("pending", "300", None)
    made = grant(pk, "did:abc:new-user", meter["currency_id"], "10")
    assert made["customer"]["did"] == "did:abc:new-user"
    assert made["customer_id"].startswith("cus_")
    assert made["remaining_amount"] == "700"  # the early usage was drawn on creation
    again = pk.ok("GET", f"{BASE}/meter-events/{early['id']}")
    assert (again["status"], again["credit_consumed"]) == ("completed", "300")
    customer = pk.ok("GET", "/v1/customers/external/did:abc:new-user")
    assert customer["id"] == made["customer_id"]
    # An id in drawdown's own format must exist: it is never taken for a DID.
    missing = "cus_0190b6d2a0d07c3e9e4f3b2a1c0d9e8f"
    body = assert_error(
        pk.post(
            f"{BASE}/credit-grants",
            json={
                "customer_id": missing,
                "amount": "1",
                "currency_id": meter["currency_id"],
                "category": "paid",
            },
        ),
        400,
        "validation_error",
    )
    assert "customer_id" in body["error"]


def test_grant_validation(pk: Any, clock: Any) -> None:
    meter = create_meter(pk)
    cur = meter["currency_id"]
    base = {"customer_id": "did:x", "currency_id": cur, "category": "paid"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount": "1.001"}, "amount"),  # more places than the currency's 2
        ({"amount": "-1"}, "amount"),
        ({"amount": "1", "priority": 101}, "priority"),
        ({"amount": "1", "category": "gift"}, "category"),
        ({"amount": "1", "expires_at": unix(clock, -10)}, "expires_at"),
        ({"amount": "1", "currency_id": "cur_nope"}, "currency_id"),
        ({"amount": "1", "applicability_config": {"scope": {"prices": ["price_1"]}}}, "prices"),
    ]
    for extra, name in cases:
        body = assert_error(
            pk.post(f"{BASE}/credit-grants", json={**base, **extra}), 400, "validation_error"
        )
        assert name in body["error"], (extra, body)
    metered = {"scope": {"price_type": "metered"}}
    ok = grant(pk, "did:x", cur, "1.5", applicability_config=metered, priority=10)
    assert (ok["amount"], ok["priority"]) == ("150", 10)


def test_list_retrieve_and_metadata(pk: Any, clock: Any) -> None:
    meter = create_meter(pk)
    cur = meter["currency_id"]
    first = grant(pk, "did:a", cur, "1", metadata={"invoice_id": "in_1"})
    pending = grant(pk, "did:a", cur, "2", effective_at=unix(clock, 3600))
    other = grant(pk, "did:b", cur, "3")
    assert pending["status"] == "pending" and pending["effective_at"] == unix(clock, 3600)
    assert pk.ok("GET", f"{BASE}/credit-grants/{first['id']}") == first

    everyone = pk.ok("GET", f"{BASE}/credit-grants?pageSize=2")
    assert [g["id"] for g in assert_page(everyone, "TCreditGrantExpanded")] == [
        other["id"],
        pending["id"],
    ]
    assert everyone["count"] == 3 and everyone["paging"]["totalPages"] == 2
    mine = pk.ok("GET", f"{BASE}/credit-grants?customer_id=did:a&currency_id={cur}")
    assert [g["id"] for g in mine["list"]] == [pending["id"], first["id"]]
    granted = pk.ok("GET", f"{BASE}/credit-grants?customer_id=did:a&status=granted")
    assert [g["id"] for g in granted["list"]] == [first["id"]]
    assert pk.ok("GET", f"{BASE}/credit-grants?customer_id=did:nobody")["count"] == 0

    done = pk.request(
        "PUT", f"{BASE}/credit-grants/{first['id']}", json={"metadata": {"invoice_id": "in_2"}}
    )
    assert done.status_code == 200 and done.json() == {"success": True}
    updated = pk.ok("GET", f"{BASE}/credit-grants/{first['id']}")
    assert updated["metadata"] == {"invoice_id": "in_2"}
    assert (updated["amount"], updated["status"]) == (first["amount"], "granted")
    assert_shape(updated, "TCreditGrantExpanded")
    assert_error(
        pk.request("PUT", f"{BASE}/credit-grants/{first['id']}", json={"expired": False}),
        400,
        "validation_error",
    )
    assert_error(
        pk.request("PUT", f"{BASE}/credit-grants/cgr_nope", json={"metadata": {}}), 404, "not_found"
    )
    # A pending grant can be expired too (Payment Kit: pending or granted).
    pk.ok("PUT", f"{BASE}/credit-grants/{pending['id']}", json={"expired": True})
    assert pk.ok("GET", f"{BASE}/credit-grants/{pending['id']}")["status"] == "expired"


def test_transactions_retrieve_filters_and_summary(pk: Any, clock: Any) -> None:
    meter = create_meter(pk)
    cur = meter["currency_id"]
    cheap = grant(pk, "did:t", cur, "1", priority=0)
    rest = grant(pk, "did:t", cur, "10")
    event = report(pk, "did:t", "1.5", "t1")
    txs = pk.ok("GET", f"{BASE}/credit-transactions?source={event['id']}")
    rows = assert_page(txs, "TCreditTransactionExpanded")
    assert [(t["credit_grant_id"], t["credit_amount"], t["quantity"]) for t in rows] == [
        (rest["id"], "50", "0.5"),
        (cheap["id"], "100", "1"),
    ]
    one = pk.ok("GET", f"{BASE}/credit-transactions/{rows[0]['id']}")
    assert one == rows[0]
    assert_error(pk.get(f"{BASE}/credit-transactions/txn_nope"), 404, "not_found")
    by_grant = pk.ok("GET", f"{BASE}/credit-transactions?credit_grant_id={cheap['id']}")
    assert [t["id"] for t in by_grant["list"]] == [rows[1]["id"]]
    by_meter = pk.ok("GET", f"{BASE}/credit-transactions?meter_id={meter['event_name']}")
    assert by_meter["count"] == 2
    assert pk.ok("GET", f"{BASE}/credit-transactions?start={unix(clock, 1)}")["count"] == 0
    assert pk.ok("GET", f"{BASE}/credit-transactions?type=all")["count"] == 4  # + 2 grant rows
    assert_error(pk.get(f"{BASE}/credit-transactions?type=bogus"), 400, "validation_error")
    summary = pk.ok("GET", f"{BASE}/credit-transactions/summary?meter_id={meter['id']}")
    assert summary["total_quantity"] == "1.5" and summary["total_credit_amount"] == "150"
    assert summary["transaction_count"] == 2
    assert summary["filters"]["meter_event_name"] == meter["event_name"]
    assert_shape(summary, "UsageSummary")


def test_event_value_precision_and_timestamp(pk: Any, clock: Any) -> None:
    meter = create_meter(pk, decimal=4)
    grant(pk, "did:p", meter["currency_id"], "1")
    event = report(pk, "did:p", "0.0012", "p1")
    assert (event["payload"]["value"], event["credit_consumed"]) == ("0.0012", "12")
    for value, name in (("0.00001", "payload.value"), ("abc", "payload.value")):
        body = assert_error(
            pk.post(
                f"{BASE}/meter-events",
                json={
                    "event_name": meter["event_name"],
                    "payload": {"customer_id": "did:p", "value": value},
                    "identifier": f"bad-{value}",
                },
            ),
            400,
            "validation_error",
        )
        assert name in body["error"], body
    too_old = unix(clock, -40 * 24 * 3600)
    body = assert_error(
        pk.post(
            f"{BASE}/meter-events",
            json={
                "event_name": meter["event_name"],
                "payload": {"customer_id": "did:p", "value": "1"},
                "identifier": "old",
                "timestamp": too_old,
            },
        ),
        400,
        "validation_error",
    )
    assert "timestamp" in body["error"]


def test_a_negative_value_grants_credits(pk: Any) -> None:
    """drawdown's rule for negative usage (a promotional grant of that size) applies here too."""
    meter = create_meter(pk)
    event = report(pk, "did:n", "-5", "refund-1")
    assert event["payload"]["value"] == "-5"
    summary = pk.ok("GET", f"{BASE}/credit-grants/summary?customer_id=did:n")
    assert summary == {}  # no customer yet: the event waits for it
    made = pk.ok("POST", "/v1/customers", 201, json={"external_id": "did:n"})
    listed = pk.ok("GET", f"{BASE}/credit-grants?customer_id={made['id']}")
    assert [(g["amount"], g["category"]) for g in listed["list"]] == [("500", "promotional")]
    assert listed["list"][0]["currency_id"] == meter["currency_id"]
