"""Usage queries: windows, timezones, aggregations, groups (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drawdown.clock import ManualClock
from tests.helpers import ingest, make_meter
from tests.test_errors import assert_problem

NOW = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_now(clock: ManualClock) -> None:
    clock.set(NOW)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _send(
    api: Any, name: str, rows: list[tuple[datetime, dict[str, Any]]], customer: str = "u1"
) -> None:
    ingest(
        api,
        *[
            {
                "identifier": f"{name}-{i}-{customer}",
                "name": name,
                "external_customer_id": customer,
                "timestamp": _iso(at),
                "properties": props,
            }
            for i, (at, props) in enumerate(rows)
        ],
    )


def _usage(api: Any, meter: str, start: datetime, end: datetime, **params: str) -> Any:
    query = "&".join(
        [f"from={_iso(start)}", f"to={_iso(end)}", *(f"{k}={v}" for k, v in params.items())]
    )
    return api.ok("GET", f"/v1/meters/{meter}/usage?{query}")


def test_daily_sum_in_utc(api: Any) -> None:
    meter = make_meter(
        api,
        "tokens",
        aggregation={"func": "sum", "property": "n"},
        filter={"clauses": [{"property": "model", "operator": "ne", "value": "free"}]},
    )
    day = datetime(2024, 11, 10, tzinfo=UTC)
    _send(
        api,
        "tokens",
        [
            (day + timedelta(hours=1), {"n": 10, "model": "a"}),
            (day + timedelta(hours=23, minutes=59), {"n": 2.5, "model": "a"}),
            (day + timedelta(days=1), {"n": 7, "model": "b"}),
            (day + timedelta(days=1, hours=1), {"n": 100, "model": "free"}),
            (day + timedelta(days=1, hours=2), {"n": "12", "model": "a"}),
            (day + timedelta(days=3), {"n": 1, "model": "a"}),
        ],
    )
    out = _usage(api, meter["id"], day, day + timedelta(days=3), window="day")
    assert out["object"] == "meter_usage" and out["meter_id"] == meter["id"]
    assert (out["from"], out["to"], out["window"], out["timezone"]) == (
        _iso(day),
        _iso(day + timedelta(days=3)),
        "day",
        "UTC",
    )
    assert [(b["start"], b["value"]) for b in out["buckets"]] == [
        (_iso(day), "12.5"),
        (_iso(day + timedelta(days=1)), "7"),
        (_iso(day + timedelta(days=2)), "0"),
    ]
    assert all("group" not in b for b in out["buckets"])
    assert out["total"] == "19.5"
    # by event_name too, and window none
    whole = _usage(api, "tokens", day, day + timedelta(days=4), window="none")
    assert [(b["start"], b["end"], b["value"]) for b in whole["buckets"]] == [
        (_iso(day), _iso(day + timedelta(days=4)), "20.5")
    ]


def test_each_aggregation_across_windows(api: Any) -> None:
    day = datetime(2024, 11, 10, tzinfo=UTC)
    rows: list[tuple[datetime, dict[str, Any]]] = [
        (day + timedelta(hours=1), {"v": 4, "user": "a"}),
        (day + timedelta(hours=2), {"v": 2, "user": "b"}),
        (day + timedelta(days=1, hours=1), {"v": 9, "user": "a"}),
        (day + timedelta(days=1, hours=3), {"v": 1.5, "user": "a"}),
        (day + timedelta(days=1, hours=4), {"user": "c"}),
    ]
    expected = {
        # func: (day 1, day 2, day 3, total)
        ("count", None): ("2", "3", "0", "5"),
        ("sum", "v"): ("6", "10.5", "0", "16.5"),
        ("avg", "v"): ("3", "5.25", None, "4.125"),  # total is not the mean of the means
        ("min", "v"): ("2", "1.5", None, "1.5"),
        ("max", "v"): ("4", "9", None, "9"),
        ("latest", "v"): ("2", "1.5", None, "1.5"),
        ("unique", "user"): ("2", "2", "0", "3"),  # total is not the sum of the buckets
    }
    for func, prop in expected:
        name = f"e_{func}"
        make_meter(
            api, name, aggregation={"func": func, "property": prop} if prop else {"func": func}
        )
        _send(api, name, rows)
    for (func, _), values in expected.items():
        out = _usage(api, f"e_{func}", day, day + timedelta(days=3), window="day")
        assert (*[b["value"] for b in out["buckets"]], out["total"]) == values, func


def test_unique_counts_numbers_by_value_and_types_apart(api: Any) -> None:
    make_meter(api, "u", aggregation={"func": "unique", "property": "k"})
    at = datetime(2024, 11, 10, tzinfo=UTC)
    _send(
        api,
        "u",
        [(at, {"k": v}) for v in (1, 1.0, "1", True, False, "a", "a", 2.5, None, [1], {"x": 1})]
        + [(at, {})],
    )
    assert _usage(api, "u", at, at + timedelta(days=1), window="none")["total"] == "6"


def test_timezone_days_and_dst(api: Any) -> None:
    make_meter(api, "calls")
    # America/New_York falls back on 2024-11-03 at 06:00Z (02:00 EDT -> 01:00 EST).
    times = [
        datetime(2024, 11, 3, 3, 59, tzinfo=UTC),  # Nov 2, 23:59 EDT
        datetime(2024, 11, 3, 4, 0, tzinfo=UTC),  # Nov 3, 00:00 EDT
        datetime(2024, 11, 3, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2024, 11, 3, 6, 30, tzinfo=UTC),  # 01:30 EST (the repeated hour)
        datetime(2024, 11, 4, 4, 59, tzinfo=UTC),  # Nov 3, 23:59 EST
        datetime(2024, 11, 4, 5, 0, tzinfo=UTC),  # Nov 4, 00:00 EST
    ]
    _send(api, "calls", [(t, {}) for t in times])
    start, end = datetime(2024, 11, 2, 4, tzinfo=UTC), datetime(2024, 11, 5, 5, tzinfo=UTC)
    out = _usage(api, "calls", start, end, window="day", timezone="America/New_York")
    assert [(b["start"], b["end"], b["value"]) for b in out["buckets"]] == [
        ("2024-11-02T04:00:00Z", "2024-11-03T04:00:00Z", "1"),
        ("2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z", "4"),  # a 25-hour day
        ("2024-11-04T05:00:00Z", "2024-11-05T05:00:00Z", "1"),
    ]
    hours = _usage(
        api,
        "calls",
        datetime(2024, 11, 3, 4, tzinfo=UTC),
        datetime(2024, 11, 3, 8, tzinfo=UTC),
        window="hour",
        timezone="America/New_York",
    )
    assert [(b["start"], b["end"], b["value"]) for b in hours["buckets"]] == [
        ("2024-11-03T04:00:00Z", "2024-11-03T05:00:00Z", "1"),
        ("2024-11-03T05:00:00Z", "2024-11-03T07:00:00Z", "2"),  # 01:00 local, twice
        ("2024-11-03T07:00:00Z", "2024-11-03T08:00:00Z", "0"),
    ]
    # Kolkata is UTC+05:30: its hours start at :30 UTC.
    india = _usage(
        api,
        "calls",
        datetime(2024, 11, 3, 3, 30, tzinfo=UTC),
        datetime(2024, 11, 3, 6, 30, tzinfo=UTC),
        window="hour",
        timezone="Asia/Kolkata",
    )
    assert [b["value"] for b in india["buckets"]] == ["2", "0", "1"]


def test_weeks_and_months(api: Any, clock: ManualClock) -> None:
    make_meter(api, "calls")
    times = [
        datetime(2024, 10, 31, 23, tzinfo=UTC),
        datetime(2024, 11, 1, tzinfo=UTC),
        datetime(2024, 11, 4, tzinfo=UTC),
        datetime(2024, 11, 10, 23, 30, tzinfo=UTC),
    ]
    _send(api, "calls", [(t, {}) for t in times])
    months = _usage(
        api,
        "calls",
        datetime(2024, 10, 15, tzinfo=UTC),
        datetime(2024, 12, 15, tzinfo=UTC),
        window="month",
    )
    assert [(b["start"], b["end"], b["value"]) for b in months["buckets"]] == [
        ("2024-10-15T00:00:00Z", "2024-11-01T00:00:00Z", "1"),
        ("2024-11-01T00:00:00Z", "2024-12-01T00:00:00Z", "3"),
        ("2024-12-01T00:00:00Z", "2024-12-15T00:00:00Z", "0"),
    ]
    # In Paris (UTC+1 in November) Oct 31 23:00Z is already November.
    paris = _usage(
        api,
        "calls",
        datetime(2024, 9, 30, 22, tzinfo=UTC),
        datetime(2024, 11, 30, 23, tzinfo=UTC),
        window="month",
        timezone="Europe/Paris",
    )
    assert [b["value"] for b in paris["buckets"]] == ["0", "4"]
    # Weeks start on Monday: Nov 4 and Nov 11 2024 are Mondays.
    weeks = _usage(
        api,
        "calls",
        datetime(2024, 10, 28, tzinfo=UTC),
        datetime(2024, 11, 18, tzinfo=UTC),
        window="week",
    )
    assert [(b["start"], b["value"]) for b in weeks["buckets"]] == [
        ("2024-10-28T00:00:00Z", "2"),
        ("2024-11-04T00:00:00Z", "2"),
        ("2024-11-11T00:00:00Z", "0"),
    ]


def test_group_by_customer_and_property_and_customer_filter(api: Any) -> None:
    make_meter(api, "tokens", aggregation={"func": "sum", "property": "n"})
    known = api.ok("POST", "/v1/customers", 201, json={"external_id": "known"})
    at = datetime(2024, 11, 10, tzinfo=UTC)
    _send(
        api,
        "tokens",
        [(at, {"n": 1, "model": "a"}), (at + timedelta(days=1), {"n": 2, "model": "b"})],
        customer="known",
    )
    _send(
        api,
        "tokens",
        [(at, {"n": 10, "model": "a"}), (at, {"n": 5, "model": 3}), (at, {"n": 1})],
        customer="pending",
    )
    by_customer = _usage(
        api, "tokens", at, at + timedelta(days=2), window="day", group_by="customer"
    )
    assert [(b["start"], b["group"], b["value"]) for b in by_customer["buckets"]] == [
        (_iso(at), known["id"], "1"),
        (_iso(at), "pending", "16"),
        (_iso(at + timedelta(days=1)), known["id"], "2"),
    ]
    assert by_customer["total"] == "19"
    by_model = _usage(api, "tokens", at, at + timedelta(days=2), window="none", group_by="model")
    assert sorted((json_key(b["group"]), b["value"]) for b in by_model["buckets"]) == sorted(
        [("3", "5"), ('"a"', "11"), ('"b"', "2"), ("null", "1")]
    )
    mine = _usage(api, "tokens", at, at + timedelta(days=2), window="none", customer_id=known["id"])
    assert mine["total"] == "3"


def json_key(value: Any) -> str:
    import json

    return json.dumps(value)


def test_a_meter_created_later_sees_earlier_events(api: Any) -> None:
    at = datetime(2024, 11, 10, tzinfo=UTC)
    _send(api, "late", [(at, {"n": 4}), (at, {"n": 6})])
    make_meter(api, "late", aggregation={"func": "sum", "property": "n"})
    assert _usage(api, "late", at, at + timedelta(days=1), window="none")["total"] == "10"
    listed = api.ok("GET", "/v1/events?meter_id=late")["data"]
    assert len(listed) == 2


def test_inactive_meters_keep_their_history(api: Any) -> None:
    make_meter(api, "calls")
    at = datetime(2024, 11, 10, tzinfo=UTC)
    _send(api, "calls", [(at, {})])
    api.ok("POST", "/v1/meters/calls/deactivate")
    assert _usage(api, "calls", at, at + timedelta(days=1), window="none")["total"] == "1"


def test_usage_validation(api: Any) -> None:
    make_meter(api, "calls")
    at = datetime(2024, 11, 10, tzinfo=UTC)
    bad = [
        (at, at, {}),
        (at, at + timedelta(days=1), {"timezone": "Mars/Base"}),
        (at, at + timedelta(days=5), {"window": "minute"}),
        (at, at + timedelta(days=1), {"window": "fortnight"}),
        (at, at + timedelta(days=1), {"group_by": "a..b"}),
        (at, at + timedelta(days=1), {"customer_id": "nope"}),
    ]
    for start, end, params in bad:
        response = api.get(
            f"/v1/meters/calls/usage?from={_iso(start)}&to={_iso(end)}&"
            + "&".join(f"{k}={v}" for k, v in params.items())
        )
        assert_problem(response, 422, "validation_error")
    assert_problem(
        api.get("/v1/meters/calls/usage?from=2024-11-10T00:00:00&to=2024-11-11T00:00:00Z"),
        422,
        "validation_error",
    )
    assert_problem(api.get("/v1/meters/calls/usage"), 422, "validation_error")
    assert_problem(
        api.get(f"/v1/meters/nope/usage?from={_iso(at)}&to={_iso(at + timedelta(days=1))}"),
        404,
        "not_found",
    )
    ok = _usage(api, "calls", at, at + timedelta(days=3, hours=11), window="minute")
    assert len(ok["buckets"]) == 4980
