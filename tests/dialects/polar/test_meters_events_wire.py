"""The Polar dialect's meters and events on the wire (in-process), and what they become in
drawdown's native API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drawdown.clock import ManualClock

METER_KEYS = {
    "metadata", "created_at", "modified_at", "id", "name", "unit", "custom_label",
    "custom_multiplier", "filter", "aggregation", "organization_id", "archived_at",
}  # fmt: skip
EVENT_KEYS = {
    "id", "timestamp", "organization_id", "customer_id", "customer", "external_customer_id",
    "member_id", "external_member_id", "child_count", "parent_id", "label", "name", "source",
    "metadata",
}  # fmt: skip


def name_is(value: str) -> dict[str, Any]:
    return {"property": "name", "operator": "eq", "value": value}


def make_meter(api: Any, event_name: str = "api_usage", **extra: Any) -> Any:
    body = {
        "name": "API usage",
        "filter": {"conjunction": "and", "clauses": [name_is(event_name)]},
        "aggregation": {"func": "sum", "property": "units"},
        **extra,
    }
    return api.ok("POST", "/polar/v1/meters/", 201, json=body)


def test_meter_is_a_native_meter(api: Any) -> None:
    clauses = [
        {"property": "metadata.model", "operator": "like", "value": "gpt"},
        name_is("ai_usage"),
        {"conjunction": "or", "clauses": [{"property": "tier", "operator": "ne", "value": "free"}]},
    ]
    created = api.ok(
        "POST",
        "/polar/v1/meters/",
        201,
        json={
            "name": "AI tokens",
            "filter": {"conjunction": "and", "clauses": clauses},
            "aggregation": {"func": "sum", "property": "metadata.total_tokens"},
            "unit": "token",
            "metadata": {"team": "ml"},
        },
    )
    assert set(created) == METER_KEYS
    assert created["unit"] == "token" and created["custom_label"] is None
    assert created["aggregation"] == {"func": "sum", "property": "metadata.total_tokens"}
    # The name clause comes first; the others keep their order and meaning.
    assert created["filter"] == {
        "conjunction": "and",
        "clauses": [clauses[1], clauses[0], clauses[2]],
    }
    assert created["archived_at"] is None and created["modified_at"] is None

    native = api.ok("GET", "/v1/meters/ai_usage")
    assert native["id"] == "mtr_" + created["id"].replace("-", "")
    assert native["event_name"] == "ai_usage" and native["rate"] == "1"
    assert native["aggregation"] == {"func": "sum", "property": "properties.total_tokens"}
    assert native["filter"]["clauses"][0]["property"] == "properties.model"
    assert api.ok("GET", f"/polar/v1/meters/{created['id']}") == created


def test_meter_filter_needs_one_event_name(api: Any) -> None:
    def create(filter_: dict[str, Any]) -> Any:
        body = {"name": "Meter", "filter": filter_, "aggregation": {"func": "count"}}
        return api.post("/polar/v1/meters/", json=body)

    refused: list[dict[str, Any]] = [
        {"conjunction": "and", "clauses": []},
        {"conjunction": "and", "clauses": [{"property": "tier", "operator": "eq", "value": "pro"}]},
        {"conjunction": "or", "clauses": [name_is("a"), name_is("b")]},
        {"conjunction": "and", "clauses": [name_is("a"), name_is("b")]},
        {"conjunction": "and", "clauses": [{"conjunction": "and", "clauses": [name_is("a")]}]},
        {"conjunction": "and", "clauses": [{"property": "name", "operator": "ne", "value": "a"}]},
    ]
    for filter_ in refused:
        response = create(filter_)
        assert response.status_code == 422, filter_
        assert response.json()["detail"][0]["loc"] == ["body", "filter"]
    # One name clause under "or" alone is the same meter.
    assert create({"conjunction": "or", "clauses": [name_is("solo")]}).status_code == 201
    duplicate = create({"conjunction": "and", "clauses": [name_is("solo")]})
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "ResourceAlreadyExists"
    bad_path = create(
        {
            "conjunction": "and",
            "clauses": [name_is("x"), {"property": "a b", "operator": "eq", "value": 1}],
        }
    )
    assert bad_path.status_code == 422
    assert bad_path.json()["detail"][0]["loc"] == ["body", "filter", "clauses", 1, "property"]
    floats = create(
        {
            "conjunction": "and",
            "clauses": [name_is("x"), {"property": "n", "operator": "gt", "value": 1.5}],
        }
    )
    assert floats.status_code == 422 and floats.json()["error"] == "RequestValidationError"


def test_units_and_update(api: Any, clock: ManualClock) -> None:
    custom = make_meter(api, "calls", unit="custom", custom_label="requests")
    assert (custom["unit"], custom["custom_label"]) == ("custom", "requests")
    assert api.ok("GET", "/v1/meters/calls")["unit"] == "requests"
    assert api.post("/polar/v1/meters/", json={
        "name": "No label", "filter": {"conjunction": "and", "clauses": [name_is("y")]},
        "aggregation": {"func": "count"}, "unit": "custom",
    }).status_code == 422  # fmt: skip

    clock.advance(timedelta(seconds=1))
    updated = api.ok(
        "PATCH",
        f"/polar/v1/meters/{custom['id']}",
        json={
            "name": "Calls",
            "unit": "scalar",
            "metadata": {"k": 1},
            "aggregation": {"func": "count"},
        },
    )
    assert updated["name"] == "Calls" and updated["unit"] == "scalar"
    assert updated["aggregation"] == {"func": "count"} and updated["metadata"] == {"k": 1}
    assert updated["modified_at"] is not None
    moved = api.patch(
        f"/polar/v1/meters/{custom['id']}",
        json={"filter": {"conjunction": "and", "clauses": [name_is("other")]}},
    )
    assert moved.status_code == 422 and moved.json()["detail"][0]["loc"] == ["body", "filter"]

    archived = api.ok("PATCH", f"/polar/v1/meters/{custom['id']}", json={"is_archived": True})
    assert archived["archived_at"] is not None
    assert api.ok("GET", "/v1/meters/calls")["status"] == "inactive"
    listed = api.ok("GET", "/polar/v1/meters/?is_archived=false")
    assert listed["pagination"]["total_count"] == 0
    restored = api.ok("PATCH", f"/polar/v1/meters/{custom['id']}", json={"is_archived": False})
    assert restored["archived_at"] is None
    assert api.get("/polar/v1/meters/0199a3b4-0000-7000-8000-000000000000").status_code == 404


def test_meter_list_sorts_by_name(api: Any) -> None:
    for event_name, name in (("b", "Bravo"), ("a", "Alpha"), ("c", "Charlie")):
        make_meter(api, event_name, name=name)
    listed = api.ok("GET", "/polar/v1/meters/?limit=2")
    assert [m["name"] for m in listed["items"]] == ["Alpha", "Bravo"]
    assert listed["pagination"] == {"total_count": 3, "max_page": 2}
    newest = api.ok("GET", "/polar/v1/meters/?sorting=-created_at")
    assert [m["name"] for m in newest["items"]] == ["Charlie", "Alpha", "Bravo"]
    assert [m["name"] for m in api.ok("GET", "/polar/v1/meters/?query=rav")["items"]] == ["Bravo"]


def test_ingest_dedups_by_external_id_and_lists(api: Any) -> None:
    make_meter(api)
    customer = api.ok(
        "POST",
        "/polar/v1/customers/",
        201,
        json={"email": "u@example.com", "external_id": "user_1"},
    )
    batch = {
        "events": [
            {
                "name": "api_usage",
                "external_customer_id": "user_1",
                "external_id": "req-1",
                "metadata": {"units": 3},
            },
            {
                "name": "api_usage",
                "customer_id": customer["id"],
                "external_id": "req-2",
                "metadata": {"units": 2},
            },
            {
                "name": "api_usage",
                "external_customer_id": "user_1",
                "external_id": "req-1",
                "metadata": {"units": 99},
            },
            {"name": "other", "external_customer_id": "nobody-yet", "metadata": {"x": "y"}},
            {"name": "other", "external_customer_id": "nobody-yet", "metadata": {"x": "y"}},
        ]
    }
    assert api.ok("POST", "/polar/v1/events/ingest", json=batch) == {"inserted": 4, "duplicates": 1}
    again = api.ok("POST", "/polar/v1/events/ingest", json={"events": batch["events"][:2]})
    assert again == {"inserted": 0, "duplicates": 2}
    # Consumption went to drawdown's ledger: 3 + 2 units, no credits yet, so 5 of debt.
    balance = api.ok("GET", "/v1/customers/external/user_1/balances")["data"][0]
    assert (balance["available"], balance["debt"]) == ("0.00", "5.00")

    listed = api.ok("GET", "/polar/v1/events/")
    assert listed["pagination"]["total_count"] == 4
    first = listed["items"][-1]
    assert set(first) == EVENT_KEYS and first["source"] == "user" and first["label"] == "api_usage"
    assert first["metadata"] == {"units": 3} and first["customer"]["id"] == customer["id"]
    assert api.ok("GET", f"/polar/v1/events/{first['id']}") == first
    native = api.ok("GET", "/v1/events/evt_" + first["id"].replace("-", ""))
    assert native["identifier"] == "req-1" and native["properties"] == {"units": 3}
    unknown = api.ok("GET", "/polar/v1/events/?name=other")["items"]
    assert [(e["customer_id"], e["customer"], e["external_customer_id"]) for e in unknown] == [
        (None, None, "nobody-yet")
    ] * 2


def test_event_list_filters(api: Any) -> None:
    make_meter(api)
    a = api.ok(
        "POST", "/polar/v1/customers/", 201, json={"email": "a@example.com", "external_id": "a"}
    )
    b = api.ok(
        "POST", "/polar/v1/customers/", 201, json={"email": "b@example.com", "external_id": "b"}
    )
    events = [
        {
            "name": "api_usage",
            "external_customer_id": "b",
            "metadata": {"units": 5, "model": "claude"},
        },
        {"name": "signup", "external_customer_id": "b", "metadata": {}},
    ]
    response = api.post("/polar/v1/events/ingest", json={"events": events})
    assert response.status_code == 200

    def ids(query: str) -> list[str]:
        return [
            e["name"] + ":" + (e["external_customer_id"] or "")
            for e in api.ok("GET", "/polar/v1/events/?" + query)["items"]
        ]

    assert ids(f"customer_id={a['id']}") == []
    assert sorted(ids(f"customer_id={b['id']}&customer_id={a['id']}")) == [
        "api_usage:b",
        "signup:b",
    ]
    assert ids("external_customer_id=b&name=signup") == ["signup:b"]
    assert ids("source=system") == []
    assert sorted(ids("source=user")) == ["api_usage:b", "signup:b"]
    meter = api.ok("GET", "/polar/v1/meters/")["items"][0]
    assert ids(f"meter_id={meter['id']}") == ["api_usage:b"]
    like = '{"conjunction":"and","clauses":[{"property":"metadata.model","operator":"like","value":"cla"}]}'
    assert ids("filter=" + like) == ["api_usage:b"]
    assert api.get("/polar/v1/events/?filter=nope").status_code == 422
    for unsupported in ("query=abc", "parent_id=p", "depth=1"):
        assert api.get("/polar/v1/events/?" + unsupported).status_code == 422
    assert api.get("/polar/v1/events/?customer_id=nope").status_code == 422
    assert (
        api.get("/polar/v1/events/?external_customer_id=a&external_customer_id=b").status_code
        == 422
    )
    assert api.get("/polar/v1/events/?start_timestamp=2026-01-01T00:00:00").status_code == 422


def test_ingest_is_all_or_nothing_with_polar_locations(api: Any) -> None:
    make_meter(api)
    bad = {
        "events": [
            {
                "name": "api_usage",
                "external_customer_id": "u",
                "external_id": "ok-1",
                "metadata": {"units": 1},
            },
            {
                "name": "api_usage",
                "customer_id": "0199a3b4-0000-7000-8000-000000000000",
                "metadata": {},
            },
            {"name": "api_usage", "external_customer_id": "u", "timestamp": "2001-01-01T00:00:00Z"},
        ]
    }
    response = api.post("/polar/v1/events/ingest", json=bad)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "PolarRequestValidationError"
    assert [d["loc"] for d in body["detail"]] == [
        ["body", "events", 1, "customer_id"],
        ["body", "events", 2, "timestamp"],
    ]
    assert api.ok("GET", "/polar/v1/events/")["pagination"]["total_count"] == 0

    shape = api.post("/polar/v1/events/ingest", json={"events": [{"name": "x"}]})
    assert shape.status_code == 422
    assert [d["loc"] for d in shape.json()["detail"]] == [
        ["body", "events", 0, "EventCreateCustomer", "customer_id"],
        ["body", "events", 0, "EventCreateExternalCustomer", "external_customer_id"],
    ]
    for extra in ({"organization_id": "x"}, {"parent_id": "p"}, {"external_member_id": "m"}):
        event = {"name": "api_usage", "external_customer_id": "u", **extra}
        refused = api.post("/polar/v1/events/ingest", json={"events": [event]})
        assert refused.status_code == 422, extra
        assert refused.json()["detail"][0]["loc"] == ["body", "events", 0, next(iter(extra))]


def test_ingest_scope(make_api: Any) -> None:
    ingest_only = make_api(scope="ingest")
    ok = ingest_only.post(
        "/polar/v1/events/ingest", json={"events": [{"name": "a", "external_customer_id": "u"}]}
    )
    assert ok.status_code == 200
    reader = make_api(scope="read", organization_id=ingest_only.tenant.organization_id)
    denied = reader.post("/polar/v1/events/ingest", json={"events": []})
    assert denied.status_code == 403 and denied.json()["error"] == "NotPermitted"
