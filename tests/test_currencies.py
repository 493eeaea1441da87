from __future__ import annotations

from typing import Any

from tests.test_errors import assert_problem


def test_create_retrieve_list(api: Any) -> None:
    made = api.ok(
        "POST", "/v1/currencies", 201, json={"name": "Tokens", "symbol": "TK", "decimals": 0}
    )
    assert made["id"].startswith("cur_") and made["object"] == "currency"
    assert (made["name"], made["symbol"], made["decimals"], made["livemode"]) == (
        "Tokens",
        "TK",
        0,
        False,
    )
    assert api.ok("GET", f"/v1/currencies/{made['id']}") == made
    other = api.ok(
        "POST", "/v1/currencies", 201, json={"name": "USD", "symbol": "$", "decimals": 2}
    )
    page = api.ok("GET", "/v1/currencies?limit=1")
    assert [c["id"] for c in page["data"]] == [other["id"]] and page["has_more"]
    page = api.ok("GET", f"/v1/currencies?limit=1&starting_after={other['id']}")
    assert [c["id"] for c in page["data"]] == [made["id"]] and not page["has_more"]


def test_validation_and_not_found(api: Any) -> None:
    for body in (
        {"name": "x", "symbol": "x", "decimals": 19},
        {"name": "x", "symbol": "x", "decimals": -1},
        {"name": "", "symbol": "x", "decimals": 2},
        {"name": "x", "symbol": "x" * 17, "decimals": 2},
        {"name": "x", "symbol": "x"},
    ):
        assert_problem(api.post("/v1/currencies", json=body), 422, "validation_error")
    assert_problem(api.get("/v1/currencies/cur_nope"), 404, "not_found")


def test_tenants_do_not_see_each_other(api: Any, make_api: Any) -> None:
    made = api.ok("POST", "/v1/currencies", 201, json={"name": "T", "symbol": "T", "decimals": 2})
    other = make_api()
    live = make_api(mode="live", organization_id=api.tenant.organization_id)
    assert_problem(other.get(f"/v1/currencies/{made['id']}"), 404, "not_found")
    assert_problem(live.get(f"/v1/currencies/{made['id']}"), 404, "not_found")
    assert other.ok("GET", "/v1/currencies")["data"] == []


def test_idempotent_create_and_read_scope(api: Any, make_api: Any) -> None:
    body = {"name": "T", "symbol": "T", "decimals": 2}
    first = api.ok("POST", "/v1/currencies", 201, json=body, headers={"Idempotency-Key": "k1"})
    again = api.ok("POST", "/v1/currencies", 201, json=body, headers={"Idempotency-Key": "k1"})
    assert again == first
    assert len(api.ok("GET", "/v1/currencies")["data"]) == 1
    reader = make_api(scope="read", organization_id=api.tenant.organization_id)
    assert_problem(reader.post("/v1/currencies", json=body), 403, "insufficient_scope")
    assert reader.ok("GET", f"/v1/currencies/{first['id']}") == first
