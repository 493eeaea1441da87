"""Payment Kit's meter API (create, retrieve by id or event_name, update, list, activate,
deactivate) with the shapes of @blocklet/payment-types, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.dialects.paymentkit.conftest import BASE
from tests.dialects.paymentkit.shapes import ISO_MS, assert_error, assert_page, assert_shape

GUIDE_METER = {
    "name": "API Calls",
    "event_name": "api.calls.invoked",
    "aggregation_method": "sum",
    "unit": "calls",
    "description": "Tracks the number of API calls.",
}


def create_meter(pk: Any, **overrides: Any) -> dict[str, Any]:
    meter: dict[str, Any] = pk.ok("POST", f"{BASE}/meters", json={**GUIDE_METER, **overrides})
    return meter


def test_create_meter_as_in_the_guide(pk: Any) -> None:
    meter = create_meter(pk)
    assert_shape(meter, "TMeterExpanded")
    assert meter["id"].startswith("mtr_") and meter["object"] == "meter"
    assert (meter["name"], meter["event_name"], meter["unit"]) == (
        "API Calls",
        "api.calls.invoked",
        "calls",
    )
    assert meter["aggregation_method"] == "sum" and meter["status"] == "active"
    assert meter["description"] == "Tracks the number of API calls."
    assert meter["livemode"] is False and meter["created_via"] == "api"
    assert ISO_MS.match(meter["created_at"])
    currency = meter["paymentCurrency"]
    assert currency["id"] == meter["currency_id"] and currency["type"] == "credit"
    assert currency["decimal"] == 2 and currency["livemode"] is False


def test_decimal_sets_the_made_currency_and_currency_id_reuses_one(pk: Any) -> None:
    first = create_meter(pk, decimal=6)
    assert first["paymentCurrency"]["decimal"] == 6
    second = create_meter(pk, event_name="api.tokens", currency_id=first["currency_id"])
    assert second["currency_id"] == first["currency_id"]
    assert second["paymentCurrency"] == first["paymentCurrency"]
    body = assert_error(
        pk.post(f"{BASE}/meters", json={**GUIDE_METER, "event_name": "x", "currency_id": "cur_0"}),
        400,
        "validation_error",
    )
    assert "currency_id" in body["error"]


def test_aggregation_methods(pk: Any) -> None:
    count = create_meter(pk, event_name="logins", aggregation_method="count")
    last = create_meter(pk, event_name="seats", aggregation_method="last")
    assert (count["aggregation_method"], last["aggregation_method"]) == ("count", "last")
    assert_error(
        pk.post(f"{BASE}/meters", json={**GUIDE_METER, "aggregation_method": "avg"}),
        400,
        "validation_error",
    )


def test_retrieve_by_id_or_event_name(pk: Any) -> None:
    meter = create_meter(pk)
    assert pk.ok("GET", f"{BASE}/meters/{meter['id']}") == meter
    assert pk.ok("GET", f"{BASE}/meters/api.calls.invoked") == meter
    body = assert_error(pk.get(f"{BASE}/meters/no.such.meter"), 404, "not_found")
    assert "no.such.meter" in body["error"]


def test_update(pk: Any, clock: Any) -> None:
    from datetime import timedelta

    meter = create_meter(pk)
    clock.advance(timedelta(seconds=5))
    updated = pk.ok(
        "PUT",
        f"{BASE}/meters/{meter['id']}",
        json={"name": "API calls v2", "unit": "requests", "metadata": {"team": "core"}},
    )
    assert_shape(updated, "TMeterExpanded")
    assert (updated["name"], updated["unit"], updated["metadata"]) == (
        "API calls v2",
        "requests",
        {"team": "core"},
    )
    assert updated["description"] == meter["description"]
    assert updated["updated_at"] > meter["updated_at"]
    assert updated["created_at"] == meter["created_at"]
    # status through update, as UpdateMeterData allows
    assert (
        pk.ok("PUT", f"{BASE}/meters/{meter['id']}", json={"status": "inactive"})["status"]
        == "inactive"
    )
    assert pk.ok("GET", f"{BASE}/meters/{meter['id']}")["status"] == "inactive"
    assert_error(
        pk.request("PUT", f"{BASE}/meters/{meter['id']}", json={"event_name": "renamed"}),
        400,
        "validation_error",
    )
    assert_error(pk.request("PUT", f"{BASE}/meters/nope", json={"name": "x"}), 404, "not_found")


def test_activate_and_deactivate(pk: Any) -> None:
    meter = create_meter(pk)
    off = pk.ok("PUT", f"{BASE}/meters/{meter['id']}/deactivate")
    assert_shape(off, "TMeterExpanded")
    assert off["status"] == "inactive"
    assert pk.ok("GET", f"{BASE}/meters/{meter['event_name']}")["status"] == "inactive"
    assert pk.ok("PUT", f"{BASE}/meters/{meter['event_name']}/activate")["status"] == "active"
    assert pk.ok("GET", f"{BASE}/meters/{meter['id']}")["status"] == "active"


def test_list_pages_filters_and_search(pk: Any) -> None:
    ids = [create_meter(pk, name=f"Meter {i}", event_name=f"ev.{i}")["id"] for i in range(5)]
    first = pk.ok("GET", f"{BASE}/meters?page=1&pageSize=2")
    assert [m["id"] for m in assert_page(first, "TMeterExpanded")] == [ids[4], ids[3]]
    assert first["count"] == 5
    assert first["paging"] == {"page": 1, "pageSize": 2, "total": 5, "totalPages": 3}
    last = pk.ok("GET", f"{BASE}/meters?page=3&pageSize=2")
    assert [m["id"] for m in last["list"]] == [ids[0]]
    beyond = pk.ok("GET", f"{BASE}/meters?page=4&pageSize=2")
    assert beyond["list"] == [] and beyond["count"] == 5

    by_name = pk.ok("GET", f"{BASE}/meters?event_name=ev.2")
    assert [m["id"] for m in by_name["list"]] == [ids[2]] and by_name["count"] == 1
    searched = pk.ok("GET", f"{BASE}/meters?q=meter 3")
    assert [m["id"] for m in searched["list"]] == [ids[3]]
    default = pk.ok("GET", f"{BASE}/meters")
    assert default["paging"]["pageSize"] == 20 and len(default["list"]) == 5
    assert_error(pk.get(f"{BASE}/meters?pageSize=101"), 400, "validation_error")
    assert_error(pk.get(f"{BASE}/meters?page=0"), 400, "validation_error")


def test_duplicate_event_name_is_a_conflict(pk: Any) -> None:
    create_meter(pk)
    body = assert_error(pk.post(f"{BASE}/meters", json=GUIDE_METER), 409, "event_name_taken")
    assert "api.calls.invoked" in body["error"]


def test_bad_input_is_a_400_naming_the_field(pk: Any) -> None:
    body = assert_error(
        pk.post(f"{BASE}/meters", json={"name": "x", "event_name": "y"}), 400, "validation_error"
    )
    assert "unit" in body["error"]
    body = assert_error(
        pk.post(f"{BASE}/meters", json={**GUIDE_METER, "bogus": 1}), 400, "validation_error"
    )
    assert "bogus" in body["error"]
    response = pk.post(f"{BASE}/meters", content=b"{", headers={"content-type": "application/json"})
    assert_error(response, 400, "validation_error")
