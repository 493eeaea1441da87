from __future__ import annotations

from typing import Any

from tests.helpers import ingest, make_meter
from tests.test_errors import assert_problem


def test_create_makes_a_currency_when_none_is_given(api: Any) -> None:
    meter = make_meter(
        api,
        "llm_tokens",
        name="LLM tokens",
        unit="tokens",
        aggregation={"func": "sum", "property": "usage.tokens"},
        rate="0.0005",
        metadata={"team": "ai"},
        description="Tokens used",
        filter={
            "conjunction": "and",
            "clauses": [{"property": "model", "operator": "eq", "value": "gpt"}],
        },
    )
    assert meter["id"].startswith("mtr_") and meter["object"] == "meter"
    assert meter["status"] == "active" and meter["rate"] == "0.0005"
    assert meter["aggregation"] == {"func": "sum", "property": "usage.tokens"}
    assert meter["filter"]["clauses"][0] == {"property": "model", "operator": "eq", "value": "gpt"}
    currency = api.ok("GET", f"/v1/currencies/{meter['currency_id']}")
    # As many places as the rate has (at least 2), so whole-number usage prices exactly.
    assert (currency["name"], currency["symbol"], currency["decimals"]) == (
        "LLM tokens",
        "tokens",
        4,
    )
    plain = make_meter(api, "calls")
    currency = api.ok("GET", f"/v1/currencies/{plain['currency_id']}")
    assert (currency["symbol"], currency["decimals"]) == ("credits", 2)
    assert plain["unit"] == "" and plain["filter"] is None and plain["rate"] == "1"


def test_create_with_a_currency(api: Any) -> None:
    cur = api.ok("POST", "/v1/currencies", 201, json={"name": "USD", "symbol": "$", "decimals": 2})
    meter = make_meter(api, currency_id=cur["id"], rate="1.50")
    assert meter["currency_id"] == cur["id"] and meter["rate"] == "1.5"
    assert len(api.ok("GET", "/v1/currencies")["data"]) == 1
    fine = api.ok("POST", "/v1/currencies", 201, json={"name": "F", "symbol": "f", "decimals": 18})
    huge = {
        "name": "m",
        "event_name": "e3",
        "aggregation": {"func": "count"},
        "currency_id": fine["id"],
        "rate": "1000",
    }
    body = assert_problem(api.post("/v1/meters", json=huge), 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "rate"]
    body = assert_problem(
        api.post(
            "/v1/meters",
            json={
                "name": "m",
                "event_name": "e2",
                "aggregation": {"func": "count"},
                "currency_id": "cur_00000000000000000000000000000000",
            },
        ),
        422,
        "validation_error",
    )
    assert body["errors"][0]["loc"] == ["body", "currency_id"]


def test_event_name_is_unique_per_mode(api: Any, make_api: Any) -> None:
    make_meter(api, "calls")
    body = {"name": "again", "event_name": "calls", "aggregation": {"func": "count"}}
    assert_problem(api.post("/v1/meters", json=body), 409, "event_name_taken")
    live = make_api(mode="live", organization_id=api.tenant.organization_id)
    assert live.ok("POST", "/v1/meters", 201, json=body)["livemode"] is True


def test_validation(api: Any) -> None:
    base = {"name": "m", "event_name": "e"}
    bad = [
        {**base, "aggregation": {"func": "sum"}},
        {**base, "aggregation": {"func": "count", "property": "x"}},
        {**base, "aggregation": {"func": "median", "property": "x"}},
        {**base, "aggregation": {"func": "sum", "property": "a..b"}},
        {**base, "aggregation": {"func": "count"}, "rate": "-1"},
        {**base, "aggregation": {"func": "count"}, "rate": "abc"},
        {**base, "aggregation": {"func": "count"}, "rate": "0." + "0" * 18 + "1"},
        {
            **base,
            "aggregation": {"func": "count"},
            "filter": {"clauses": [{"property": "x", "operator": "like", "value": 3}]},
        },
        {
            **base,
            "aggregation": {"func": "count"},
            "filter": {"clauses": [{"property": "x", "operator": "gt", "value": True}]},
        },
        {
            **base,
            "aggregation": {"func": "count"},
            "filter": {"clauses": [{"property": "x", "operator": "eq", "value": 1.5}]},
        },
        {
            **base,
            "aggregation": {"func": "count"},
            "filter": {"clauses": [{"property": "x", "operator": "matches", "value": "a"}]},
        },
        {
            **base,
            "aggregation": {"func": "count"},
            "filter": {"clauses": [{"property": "x", "operator": "eq", "value": "a"}] * 51},
        },
        {**base, "aggregation": {"func": "count"}, "filter": _nested(6)},
    ]
    for body in bad:
        assert_problem(api.post("/v1/meters", json=body), 422, "validation_error")
    assert api.ok("GET", "/v1/meters")["data"] == []
    ok = {**base, "aggregation": {"func": "count"}, "filter": _nested(5)}
    assert api.ok("POST", "/v1/meters", 201, json=ok)["filter"] == _nested(5)


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {
        "conjunction": "and",
        "clauses": [{"property": "x", "operator": "eq", "value": "a"}],
    }
    for _ in range(depth - 1):
        node = {"conjunction": "or", "clauses": [node]}
    return node


def test_retrieve_by_id_or_event_name(api: Any) -> None:
    meter = make_meter(api, "calls")
    assert api.ok("GET", f"/v1/meters/{meter['id']}") == meter
    assert api.ok("GET", "/v1/meters/calls") == meter
    assert_problem(api.get("/v1/meters/nothing"), 404, "not_found")


def test_update_fields_and_rate(api: Any) -> None:
    meter = make_meter(api, "calls")
    updated = api.ok(
        "PATCH",
        f"/v1/meters/{meter['id']}",
        json={"name": "Calls", "unit": "call", "description": "d", "metadata": {"a": 1}, "rate": 2},
    )
    assert (updated["name"], updated["unit"], updated["description"], updated["rate"]) == (
        "Calls",
        "call",
        "d",
        "2",
    )
    assert updated["metadata"] == {"a": 1} and updated["event_name"] == "calls"
    for body in ({"event_name": "x"}, {"currency_id": "cur_x"}, {"rate": "-2"}, {"name": None}):
        assert_problem(api.patch(f"/v1/meters/{meter['id']}", json=body), 422, "validation_error")


def test_filter_and_aggregation_freeze_once_events_exist(api: Any) -> None:
    meter = make_meter(api, "calls")
    new_filter = {
        "conjunction": "and",
        "clauses": [{"property": "x", "operator": "eq", "value": 1}],
    }
    changed = api.ok(
        "PATCH",
        "/v1/meters/calls",
        json={"filter": new_filter, "aggregation": {"func": "sum", "property": "n"}},
    )
    assert changed["filter"] == new_filter and changed["aggregation"]["func"] == "sum"
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    ingest(api, {"identifier": "e1", "name": "calls", "customer_id": customer["id"]})
    body = assert_problem(
        api.patch(
            f"/v1/meters/{meter['id']}", json={"filter": None, "aggregation": {"func": "count"}}
        ),
        422,
        "validation_error",
    )
    assert [e["loc"] for e in body["errors"]] == [["body", "filter"], ["body", "aggregation"]]
    assert api.ok("GET", f"/v1/meters/{meter['id']}")["filter"] == new_filter
    # Sending the same definition again, or other fields, is fine.
    same = api.ok("PATCH", f"/v1/meters/{meter['id']}", json={"filter": new_filter, "name": "N"})
    assert same["name"] == "N"


def test_list_filters_and_status(api: Any) -> None:
    a = make_meter(api, "alpha_calls", name="Alpha")
    b = make_meter(api, "beta_calls", name="Beta")
    off = api.ok("POST", f"/v1/meters/{b['id']}/deactivate")
    assert off["status"] == "inactive"
    assert api.ok("POST", f"/v1/meters/{b['id']}/deactivate")["status"] == "inactive"

    def ids(query: str) -> list[str]:
        return [m["id"] for m in api.ok("GET", "/v1/meters" + query)["data"]]

    assert ids("") == [b["id"], a["id"]]
    assert ids("?status=active") == [a["id"]]
    assert ids("?status=inactive") == [b["id"]]
    assert ids("?event_name=alpha_calls") == [a["id"]]
    assert ids("?q=BET") == [b["id"]]
    assert ids("?limit=1") == [b["id"]]
    assert api.ok("POST", "/v1/meters/beta_calls/activate")["status"] == "active"
    assert ids("?status=inactive") == []
    assert_problem(api.get("/v1/meters?status=paused"), 422, "validation_error")
