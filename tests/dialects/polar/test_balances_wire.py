"""Customer meters and meter quantities of the Polar dialect (in-process, on a manual
clock): the numbers Polar would report, computed from drawdown's usage and ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drawdown.clock import ManualClock
from tests.dialects.polar.test_meters_events_wire import make_meter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CUSTOMER_METER_KEYS = {
    "id", "created_at", "modified_at", "customer_id", "meter_id", "consumed_units",
    "credited_units", "balance", "customer", "meter",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fixed_now(clock: ManualClock) -> None:
    clock.set(NOW)


def ingest(api: Any, *events: dict[str, Any]) -> Any:
    return api.ok("POST", "/polar/v1/events/ingest", json={"events": list(events)})


def usage(
    customer: str, units: float, at: datetime | None = None, name: str = "api_usage"
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "name": name,
        "external_customer_id": customer,
        "metadata": {"units": units},
    }
    if at is not None:
        event["timestamp"] = at.isoformat()
    return event


def meter_of(api: Any, external_id: str) -> dict[str, Any]:
    items = api.ok("GET", f"/polar/v1/customer-meters/?external_customer_id={external_id}")["items"]
    assert len(items) == 1
    return items[0]  # type: ignore[no-any-return]


def numbers(item: dict[str, Any]) -> tuple[float, int, float]:
    return item["consumed_units"], item["credited_units"], item["balance"]


def test_negative_event_grants_and_usage_draws_down(api: Any) -> None:
    make_meter(api)
    api.ok(
        "POST",
        "/polar/v1/customers/",
        201,
        json={"email": "u@example.com", "external_id": "user_123"},
    )
    ingest(api, usage("user_123", -10))
    item = meter_of(api, "user_123")
    assert set(item) == CUSTOMER_METER_KEYS
    assert numbers(item) == (-10.0, 0, 10.0)  # what Polar reports for a negative event
    ingest(api, usage("user_123", 3), usage("user_123", 0.5))
    assert numbers(meter_of(api, "user_123")) == (-6.5, 0, 6.5)
    ingest(api, usage("user_123", 10))
    # Usage past the credits is debt: a negative balance, as Polar's overage.
    assert numbers(meter_of(api, "user_123")) == (3.5, 0, -3.5)
    native = api.ok("GET", "/v1/customers/external/user_123/balances")["data"][0]
    assert (native["available"], native["debt"]) == ("0.00", "3.50")


def test_native_grant_is_credited_units(api: Any) -> None:
    meter = make_meter(api)
    api.ok("POST", "/polar/v1/customers/", 201, json={"email": "g@example.com", "external_id": "g"})
    grant = {
        "external_customer_id": "g",
        "meter_id": "mtr_" + meter["id"].replace("-", ""),
        "amount": "100",
    }
    api.ok("POST", "/v1/credit-grants", 201, json=grant)
    ingest(api, usage("g", 25))
    assert numbers(meter_of(api, "g")) == (25.0, 100, 75.0)
    # Credits a customer was granted before a meter's events arrived stay credited.
    ingest(api, usage("g", -5))
    assert numbers(meter_of(api, "g")) == (20.0, 100, 80.0)


def test_balance_is_in_the_meters_units(api: Any) -> None:
    native = api.ok(
        "POST",
        "/v1/meters",
        201,
        json={
            "name": "Tokens",
            "event_name": "tokens",
            "aggregation": {"func": "sum", "property": "n"},
            "rate": "0.5",
        },
    )
    api.ok("POST", "/polar/v1/customers/", 201, json={"email": "t@example.com", "external_id": "t"})
    api.ok(
        "POST",
        "/v1/credit-grants",
        201,
        json={"external_customer_id": "t", "meter_id": native["id"], "amount": "10"},
    )
    api.ok(
        "POST",
        "/polar/v1/events/ingest",
        json={"events": [{"name": "tokens", "external_customer_id": "t", "metadata": {"n": 4}}]},
    )
    # 10 credits at 0.5 credit per token: 20 tokens granted, 4 used, 16 left.
    assert numbers(meter_of(api, "t")) == (4.0, 20, 16.0)


def test_customer_meters_list_pages_and_filters(api: Any) -> None:
    alpha = make_meter(api, "alpha", name="Alpha")
    beta = make_meter(api, "beta", name="Beta")
    made = [
        api.ok(
            "POST",
            "/polar/v1/customers/",
            201,
            json={"email": f"c{i}@example.com", "external_id": f"c{i}"},
        )["id"]
        for i in range(3)
    ]
    pairs: list[tuple[str, str]] = []
    for page in (1, 2):
        listed = api.ok("GET", f"/polar/v1/customer-meters/?limit=4&page={page}")
        assert listed["pagination"] == {"total_count": 6, "max_page": 2}
        pairs += [(i["customer_id"], i["meter_id"]) for i in listed["items"]]
    expected = [(c, m) for c in reversed(made) for m in (alpha["id"], beta["id"])]
    assert pairs == expected

    for customer, meter in pairs:
        item = api.ok("GET", f"/polar/v1/customer-meters/?customer_id={customer}&meter_id={meter}")[
            "items"
        ][0]
        assert api.ok("GET", f"/polar/v1/customer-meters/{item['id']}") == item
        assert (item["customer"]["id"], item["meter"]["id"]) == (customer, meter)
    assert (
        len(
            {
                api.ok("GET", "/polar/v1/customer-meters/?limit=100")["items"][i]["id"]
                for i in range(6)
            }
        )
        == 6
    )

    api.ok("PATCH", f"/polar/v1/meters/{beta['id']}", json={"is_archived": True})
    assert api.ok("GET", "/polar/v1/customer-meters/")["pagination"]["total_count"] == 3
    archived = api.ok("GET", f"/polar/v1/customer-meters/?meter_id={beta['id']}")
    assert archived["pagination"]["total_count"] == 3
    assert (
        api.ok("GET", "/polar/v1/customer-meters/?external_customer_id=c1&external_customer_id=c2")[
            "pagination"
        ]["total_count"]
        == 2
    )
    assert api.ok("GET", "/polar/v1/customer-meters/?external_customer_id=nobody") == {
        "items": [],
        "pagination": {"total_count": 0, "max_page": 0},
    }
    assert api.ok("GET", "/polar/v1/customer-meters/?page=3&limit=2")["items"] == []
    assert api.get("/polar/v1/customer-meters/?meter_id=nope").status_code == 422
    assert api.get("/polar/v1/customer-meters/?sorting=balance").status_code == 422
    assert (
        api.ok("GET", "/polar/v1/customer-meters/?sorting=-modified_at")["pagination"][
            "total_count"
        ]
        == 3
    )


def test_customer_meter_ids_are_scoped(make_api: Any) -> None:
    a, b = make_api(), make_api()
    make_meter(a)
    a.ok("POST", "/polar/v1/customers/", 201, json={"email": "a@example.com", "external_id": "a"})
    item = a.ok("GET", "/polar/v1/customer-meters/")["items"][0]
    missing = b.get(f"/polar/v1/customer-meters/{item['id']}")
    assert missing.status_code == 404 and missing.json()["error"] == "ResourceNotFound"
    assert a.get("/polar/v1/customer-meters/not-a-uuid").status_code == 404
    a.ok("DELETE", "/polar/v1/customers/external/a", 204)
    assert a.get(f"/polar/v1/customer-meters/{item['id']}").status_code == 404


def quantities(api: Any, meter: dict[str, Any], **params: Any) -> Any:
    return api.get(f"/polar/v1/meters/{meter['id']}/quantities", params=params)


def test_quantities_by_day_hour_week_month_year(api: Any) -> None:
    meter = make_meter(api)
    api.ok("POST", "/polar/v1/customers/", 201, json={"email": "q@example.com", "external_id": "q"})
    api.ok("POST", "/polar/v1/customers/", 201, json={"email": "r@example.com", "external_id": "r"})
    ingest(
        api,
        usage("q", 2, NOW - timedelta(days=2)),
        usage("q", 3, NOW - timedelta(days=2, hours=1)),
        usage("r", 7, NOW - timedelta(days=1)),
        usage("q", -1, NOW),
    )
    day = quantities(
        api,
        meter,
        start_timestamp="2026-03-07T00:00:00Z",
        end_timestamp="2026-03-10T00:00:00Z",
        interval="day",
    )
    assert day.status_code == 200
    assert day.json() == {
        "quantities": [
            {"timestamp": "2026-03-07T00:00:00Z", "quantity": 0.0},
            {"timestamp": "2026-03-08T00:00:00Z", "quantity": 5.0},
            {"timestamp": "2026-03-09T00:00:00Z", "quantity": 7.0},
            {"timestamp": "2026-03-10T00:00:00Z", "quantity": -1.0},
        ],
        "total": 11.0,
    }
    only_q = quantities(
        api,
        meter,
        start_timestamp="2026-03-08T00:00:00Z",
        end_timestamp="2026-03-09T00:00:00Z",
        interval="day",
        external_customer_id="q",
    )
    assert [x["quantity"] for x in only_q.json()["quantities"]] == [5.0, 0.0]
    hours = quantities(
        api,
        meter,
        start_timestamp="2026-03-08T11:00:00Z",
        end_timestamp="2026-03-08T12:30:00Z",
        interval="hour",
    ).json()
    assert [(x["timestamp"][11:16], x["quantity"]) for x in hours["quantities"]] == [
        ("11:00", 3.0),
        ("12:00", 2.0),
    ]
    week = quantities(
        api,
        meter,
        start_timestamp="2026-03-01T00:00:00Z",
        end_timestamp="2026-03-10T00:00:00Z",
        interval="week",
    ).json()
    assert [(x["timestamp"], x["quantity"]) for x in week["quantities"]] == [
        ("2026-02-23T00:00:00Z", 0.0),  # weeks start on Monday
        ("2026-03-02T00:00:00Z", 5.0),
        ("2026-03-09T00:00:00Z", 6.0),
    ]
    month = quantities(
        api,
        meter,
        start_timestamp="2026-01-15T00:00:00Z",
        end_timestamp="2026-03-10T00:00:00Z",
        interval="month",
    ).json()
    assert [x["quantity"] for x in month["quantities"]] == [0.0, 0.0, 11.0]
    year = quantities(
        api,
        meter,
        start_timestamp="2024-06-01T00:00:00Z",
        end_timestamp="2026-03-10T00:00:00Z",
        interval="year",
    ).json()
    assert year == {
        "quantities": [
            {"timestamp": "2024-01-01T00:00:00Z", "quantity": 0.0},
            {"timestamp": "2025-01-01T00:00:00Z", "quantity": 0.0},
            {"timestamp": "2026-01-01T00:00:00Z", "quantity": 11.0},
        ],
        "total": 11.0,
    }


def test_quantities_periods_are_whole_and_in_the_timezone(api: Any) -> None:
    meter = make_meter(api)
    late = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)  # 00:30 on the 9th in Paris
    ingest(api, usage("z", 4, late))
    # Like Polar, a period counts whole even when start/end cut into it.
    utc = quantities(
        api,
        meter,
        start_timestamp="2026-03-08T23:00:00Z",
        end_timestamp="2026-03-08T23:10:00Z",
        interval="day",
    ).json()
    assert utc["quantities"] == [{"timestamp": "2026-03-08T00:00:00Z", "quantity": 4.0}]
    paris = quantities(
        api,
        meter,
        start_timestamp="2026-03-08T00:00:00+01:00",
        end_timestamp="2026-03-09T00:00:00+01:00",
        interval="day",
        timezone="Europe/Paris",
    ).json()
    assert paris["quantities"] == [
        {"timestamp": "2026-03-07T23:00:00Z", "quantity": 0.0},
        {"timestamp": "2026-03-08T23:00:00Z", "quantity": 4.0},
    ]


def test_quantities_errors(api: Any) -> None:
    meter = make_meter(api)
    api.ok("POST", "/polar/v1/customers/", 201, json={"email": "e@example.com", "external_id": "e"})
    base = {
        "start_timestamp": "2026-03-01T00:00:00Z",
        "end_timestamp": "2026-03-02T00:00:00Z",
        "interval": "day",
    }
    cases = [
        ({"interval": "minute"}, ["query", "interval"]),
        ({"start_timestamp": "2026-03-01T00:00:00"}, ["query", "start_timestamp"]),
        ({"timezone": "Mars/Olympus"}, ["query", "timezone"]),
        ({"external_customer_id": "nobody"}, ["query", "external_customer_id", 0]),
        ({"customer_aggregation_function": "sum"}, ["query", "customer_aggregation_function"]),
        ({"end_timestamp": "2026-02-01T00:00:00Z"}, ["query", "end_timestamp"]),
        ({"start_timestamp": "2010-01-01T00:00:00Z", "interval": "hour"}, ["query", "interval"]),
    ]
    for change, loc in cases:
        response = quantities(api, meter, **{**base, **change})
        assert response.status_code == 422, change
        assert response.json()["detail"][0]["loc"] == loc, (change, response.json())
    two = api.get(
        f"/polar/v1/meters/{meter['id']}/quantities?start_timestamp=2026-03-01T00:00:00Z&end_timestamp=2026-03-02T00:00:00Z&interval=day&external_customer_id=e&external_customer_id=e"
    )
    assert two.status_code == 422
    missing = api.get(
        "/polar/v1/meters/0199a3b4-0000-7000-8000-000000000000/quantities", params=base
    )
    assert missing.status_code == 404


def test_customer_state_has_a_balance_per_active_meter(api: Any) -> None:
    make_meter(api, "alpha", name="Alpha")
    archived = make_meter(api, "beta", name="Beta")
    api.ok("PATCH", f"/polar/v1/meters/{archived['id']}", json={"is_archived": True})
    customer = api.ok(
        "POST", "/polar/v1/customers/", 201, json={"email": "s@example.com", "external_id": "s"}
    )
    ingest(api, usage("s", -4, name="alpha"), usage("s", 1, name="alpha"))
    state = api.ok("GET", "/polar/v1/customers/external/s/state")
    assert state["id"] == customer["id"] and state["active_subscriptions"] == []
    assert [
        (m["consumed_units"], m["credited_units"], m["balance"]) for m in state["active_meters"]
    ] == [(-3.0, 0, 3.0)]
    assert set(state["active_meters"][0]) == {
        "id",
        "created_at",
        "modified_at",
        "meter_id",
        "consumed_units",
        "credited_units",
        "balance",
    }
    assert api.ok("GET", f"/polar/v1/customers/{customer['id']}/state") == state
    assert api.get("/polar/v1/customers/external/nobody/state").status_code == 404


def test_events_before_the_customer_are_drawn_down_when_it_is_created(api: Any) -> None:
    make_meter(api)
    ingest(api, usage("early", -10), usage("early", 3))
    api.ok(
        "POST", "/polar/v1/customers/", 201, json={"email": "e@example.com", "external_id": "early"}
    )
    assert numbers(meter_of(api, "early")) == (-7.0, 0, 7.0)
    # As in Polar, a meter's filter and aggregation are fixed once it has events.
    meter = api.ok("GET", "/polar/v1/meters/")["items"][0]
    frozen = api.patch(f"/polar/v1/meters/{meter['id']}", json={"aggregation": {"func": "count"}})
    assert frozen.status_code == 422 and frozen.json()["detail"][0]["loc"] == [
        "body",
        "aggregation",
    ]
