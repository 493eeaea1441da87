"""Event retrieval and lists: filters and cursor pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drawdown.clock import ManualClock
from drawdown.meters.filters import matcher_for
from tests.helpers import ingest, make_meter
from tests.test_errors import assert_problem
from tests.test_usage_property import filters, properties

NOW = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _ids(api: Any, query: str) -> list[str]:
    return [e["identifier"] for e in api.ok("GET", "/v1/events" + query)["data"]]


def test_list_filters_and_pagination(api: Any, clock: ManualClock) -> None:
    clock.set(NOW)
    known = api.ok("POST", "/v1/customers", 201, json={"external_id": "k"})
    day = NOW - timedelta(days=2)
    ingest(
        api,
        {"identifier": "1", "name": "calls", "customer_id": known["id"], "timestamp": _iso(day)},
        {
            "identifier": "2",
            "name": "calls",
            "external_customer_id": "k",
            "timestamp": _iso(day + timedelta(hours=1)),
            "properties": {"plan": "pro"},
        },
        {
            "identifier": "3",
            "name": "tokens",
            "external_customer_id": "other",
            "timestamp": _iso(day + timedelta(hours=2)),
        },
        {
            "identifier": "4",
            "name": "calls",
            "external_customer_id": "other",
            "timestamp": _iso(day + timedelta(days=1)),
            "properties": {"plan": "free"},
        },
    )
    assert _ids(api, "") == ["4", "3", "2", "1"]  # newest ingested first
    assert _ids(api, f"?customer_id={known['id']}") == ["2", "1"]
    # By external id: events sent with it, and those sent with the customer's own id.
    assert _ids(api, "?external_customer_id=k") == ["2", "1"]
    assert _ids(api, "?external_customer_id=other") == ["4", "3"]
    assert _ids(api, "?name=calls") == ["4", "2", "1"]
    assert _ids(
        api, f"?from={_iso(day + timedelta(hours=1))}&to={_iso(day + timedelta(days=1))}"
    ) == ["3", "2"]
    make_meter(
        api, "calls", filter={"clauses": [{"property": "plan", "operator": "eq", "value": "pro"}]}
    )
    meter = api.ok("GET", "/v1/meters/calls")
    assert _ids(api, f"?meter_id={meter['id']}") == ["2"]
    pages, cursor = [], None
    while True:
        page = api.ok("GET", "/v1/events?limit=3" + (f"&starting_after={cursor}" if cursor else ""))
        pages.append([e["identifier"] for e in page["data"]])
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert pages == [["4", "3", "2"], ["1"]]
    assert_problem(api.get("/v1/events?customer_id=nope"), 422, "validation_error")
    assert_problem(api.get("/v1/events?from=2024-11-01T00:00:00"), 422, "validation_error")
    assert_problem(api.get("/v1/events?meter_id=missing"), 404, "not_found")
    assert_problem(api.get("/v1/events?starting_after=bad"), 422, "validation_error")


def test_events_are_tenant_scoped(api: Any, make_api: Any) -> None:
    ingest(api, {"identifier": "1", "name": "calls", "external_customer_id": "u"})
    event = api.ok("GET", "/v1/events")["data"][0]
    other = make_api()
    assert_problem(other.get(f"/v1/events/{event['id']}"), 404, "not_found")
    assert other.ok("GET", "/v1/events")["data"] == []


@given(events=st.lists(properties, max_size=15), flt=filters)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_sql_filter_agrees_with_python_matcher(
    make_api: Any, clock: ManualClock, events: Any, flt: Any
) -> None:
    """The filter compiled to SQL (event lists, usage) and to Python (ingest) agree."""
    clock.set(NOW)
    api = make_api()
    meter = api.ok(
        "POST",
        "/v1/meters",
        201,
        json={"name": "m", "event_name": "ev", "filter": flt, "aggregation": {"func": "count"}},
    )
    batch = [
        {
            "identifier": str(i),
            "name": "ev",
            "external_customer_id": "u",
            "timestamp": _iso(NOW - timedelta(days=i, microseconds=i * 777_777)),
            "properties": p,
        }
        for i, p in enumerate(events)
    ]
    if batch:
        ingest(api, *batch)
    listed = {
        e["identifier"]
        for e in api.ok("GET", f"/v1/events?limit=100&meter_id={meter['id']}")["data"]
    }
    matches = matcher_for(meter["filter"])
    expected = set()
    for event in batch:
        at = datetime.fromisoformat(event["timestamp"])
        ts_us = int((at - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
        if matches("ev", ts_us, event["properties"]):
            expected.add(event["identifier"])
    assert listed == expected
