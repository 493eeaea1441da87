"""Property test: for random events, filters, windows, timezones and groupings, the API's
usage equals a plain-Python aggregation of the same events (on SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drawdown.clock import ManualClock

NOW = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
SPAN_US = 30 * 86400 * 1_000_000
ZONES = ["UTC", "America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe"]
CLAUSES = [
    {"property": "tag", "operator": "eq", "value": "x"},
    {"property": "tag", "operator": "ne", "value": "y"},
    {"property": "tag", "operator": "gte", "value": 2},
    {"property": "v", "operator": "gt", "value": 0},
    {"property": "v", "operator": "lte", "value": 10},
    {"property": "model", "operator": "like", "value": "pt"},
    {"property": "model", "operator": "not_like", "value": "g"},
    {"property": "model", "operator": "lt", "value": "h"},
    {"property": "flag", "operator": "eq", "value": True},
    {"property": "flag", "operator": "ne", "value": True},
    {"property": "name", "operator": "eq", "value": "ev"},
    {"property": "timestamp", "operator": "lt", "value": int(NOW.timestamp()) - 10 * 86400},
    {"property": "timestamp", "operator": "gte", "value": int(NOW.timestamp()) - 20 * 86400},
]

values = st.one_of(
    st.integers(-50, 50),
    st.integers(-200, 200).map(lambda k: k / 4),
    st.sampled_from(["12", "abc"]),
    st.booleans(),
)
properties = st.fixed_dictionaries(
    {},
    optional={
        "v": values,
        "tag": st.sampled_from(["x", "y", "z", 1, 2, 2.0, True]),
        "model": st.sampled_from(["gpt", "opt", "hal", "Gpt"]),
        "flag": st.booleans(),
    },
)
events = st.lists(
    st.tuples(st.integers(0, SPAN_US - 1), st.sampled_from(["a", "b", "c"]), properties),
    max_size=25,
    unique_by=lambda e: e[0],
)
filters = st.one_of(
    st.none(),
    st.builds(
        lambda conj, clauses: {"conjunction": conj, "clauses": clauses},
        st.sampled_from(["and", "or"]),
        st.lists(st.sampled_from(CLAUSES), max_size=3),
    ),
)
funcs = st.sampled_from(["count", "sum", "avg", "min", "max", "unique", "latest"])


@st.composite
def windows(draw: Any) -> tuple[str, datetime, datetime]:
    window = draw(st.sampled_from(["minute", "hour", "day", "week", "month", "none"]))
    longest = {"minute": 3 * 86400, "hour": 25 * 86400}.get(window, 40 * 86400)
    start = NOW - timedelta(seconds=draw(st.integers(0, 35 * 86400)))
    length = timedelta(seconds=draw(st.integers(1, longest)))
    return window, start, start + length


# ---- the plain-Python reference ---------------------------------------------------------------

MISSING = object()


def _kind_matches(actual: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return isinstance(actual, bool)
    if isinstance(value, int):
        return isinstance(actual, int | float) and not isinstance(actual, bool)
    return isinstance(actual, str)


def _clause(clause: dict[str, Any], name: str, ts_us: int, props: dict[str, Any]) -> bool:
    prop, op, value = clause["property"], clause["operator"], clause["value"]
    if prop == "name":
        actual: Any = name
    elif prop == "timestamp":
        actual = ts_us // 1_000_000
    else:
        actual = props.get(prop, MISSING)
    if actual is MISSING or not _kind_matches(actual, value):
        return False
    outcome: bool = {
        "eq": actual == value,
        "ne": actual != value,
        "gt": actual > value,
        "gte": actual >= value,
        "lt": actual < value,
        "lte": actual <= value,
        "like": isinstance(actual, str) and value in actual,
        "not_like": isinstance(actual, str) and value not in actual,
    }[op]
    return outcome


def _matches(flt: dict[str, Any] | None, name: str, ts_us: int, props: dict[str, Any]) -> bool:
    if not flt or not flt["clauses"]:
        return True
    results = [_clause(c, name, ts_us, props) for c in flt["clauses"]]
    return any(results) if flt["conjunction"] == "or" else all(results)


def _number(v: Any) -> Decimal | None:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
    return None


def _aggregate(
    func: str, prop: str | None, rows: list[tuple[int, dict[str, Any]]]
) -> Decimal | None:
    if func == "count":
        return Decimal(len(rows))
    if func == "unique":
        keys: set[tuple[str, object]] = set()
        for _, props in rows:
            v = props.get(prop or "", MISSING)
            if isinstance(v, bool):
                keys.add(("b", v))
            elif isinstance(v, str):
                keys.add(("s", v))
            elif _number(v) is not None:
                keys.add(("n", _number(v)))
        return Decimal(len(keys))
    numbers = [(ts, _number(props.get(prop or ""))) for ts, props in rows]
    present = [(ts, n) for ts, n in numbers if n is not None]
    if func == "sum":
        return sum((n for _, n in present), Decimal(0))
    if not present:
        return None
    if func == "avg":
        return sum((n for _, n in present), Decimal(0)) / Decimal(len(present))
    if func == "min":
        return min(n for _, n in present)
    if func == "max":
        return max(n for _, n in present)
    return max(present)[1]  # latest: timestamps are distinct


def _fmt(value: Decimal | None) -> str | None:
    if value is None:
        return None
    normalized = value.normalize()
    return format(normalized if normalized != 0 else Decimal(0), "f")


def _floor_wall(instant: datetime, window: str, tz: ZoneInfo) -> Any:
    wall = instant.astimezone(tz).replace(tzinfo=None)
    if window == "minute":
        return wall.replace(second=0, microsecond=0)
    if window == "hour":
        return wall.replace(minute=0, second=0, microsecond=0)
    day = wall.date()
    if window == "day":
        return day
    if window == "week":
        return day - timedelta(days=day.weekday())
    return (day.year, day.month)


def _group_of(by: str | None, customer: str, props: dict[str, Any], known: dict[str, str]) -> Any:
    if by == "customer":
        return known.get(customer, customer)
    value = props.get("tag")
    return value if isinstance(value, str | int | float | bool) else None


@given(
    events=events,
    flt=filters,
    func=funcs,
    window=windows(),
    zone=st.sampled_from(ZONES),
    group_by=st.sampled_from([None, "customer", "tag"]),
    only_a=st.booleans(),
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_usage_matches_python(
    make_api: Any,
    clock: ManualClock,
    events: Any,
    flt: Any,
    func: str,
    window: Any,
    zone: str,
    group_by: str | None,
    only_a: bool,
) -> None:
    clock.set(NOW)
    api = make_api()  # a fresh organization per example
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "a"})
    known = {"a": customer["id"]}
    prop = None if func == "count" else ("tag" if func == "unique" else "v")
    meter = api.ok(
        "POST",
        "/v1/meters",
        201,
        json={
            "name": "m",
            "event_name": "ev",
            "filter": flt,
            "aggregation": {"func": func, "property": prop} if prop else {"func": func},
        },
    )
    start_us = int((NOW.timestamp() - 30 * 86400) * 1_000_000)
    stored = []
    batch = []
    for i, (offset, who, props) in enumerate(events):
        ts_us = start_us + offset
        at = datetime.fromtimestamp(ts_us // 1_000_000, UTC).replace(microsecond=ts_us % 1_000_000)
        batch.append(
            {
                "identifier": str(i),
                "name": "ev",
                "external_customer_id": who,
                "timestamp": at.isoformat(),
                "properties": props,
            }
        )
        stored.append((ts_us, at, who, props))
    batch.append(
        {
            "identifier": "other",
            "name": "other",
            "external_customer_id": "a",
            "properties": {"v": 1},
        }
    )
    api.ok("POST", "/v1/events/ingest", json={"events": batch})

    name, time_from, time_to = window
    params = {
        "from": time_from.isoformat(),
        "to": time_to.isoformat(),
        "window": name,
        "timezone": zone,
    }
    if group_by:
        params["group_by"] = group_by
    if only_a:
        params["customer_id"] = customer["id"]
    out = api.ok("GET", f"/v1/meters/{meter['id']}/usage", params=params)

    tz = ZoneInfo(zone)
    buckets = out["buckets"]
    selected = [
        (ts_us, at, who, props)
        for ts_us, at, who, props in stored
        if time_from <= at < time_to
        and _matches(flt, "ev", ts_us, props)
        and (not only_a or who == "a")
    ]
    total = _aggregate(func, prop, [(ts, p) for ts, _, _, p in selected])
    assert out["total"] == _fmt(
        total if total is not None or func in ("count", "sum", "unique") else None
    )

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text)

    if group_by is None:
        # Dense buckets tiling [from, to), each one wall-clock period of the timezone.
        assert parse(buckets[0]["start"]) == time_from and parse(buckets[-1]["end"]) == time_to
        assert all(parse(a["end"]) == parse(b["start"]) for a, b in itertools.pairwise(buckets))
        expected_rows: dict[tuple[str, Any], list[Any]] = {(b["start"], None): [] for b in buckets}
    else:
        expected_rows = {}
    for ts_us, at, who, props in selected:
        # Grouped results list the (bucket, group) pairs that have events: there is one here.
        bucket = next((b for b in buckets if parse(b["start"]) <= at < parse(b["end"])), None)
        assert bucket is not None, (at, buckets)
        if name != "none":
            assert _floor_wall(at, name, tz) == _floor_wall(parse(bucket["start"]), name, tz)
        group = _group_of(group_by, who, props, known) if group_by else None
        expected_rows.setdefault(
            (bucket["start"], json.dumps(group) if group_by else None), []
        ).append((ts_us, props))
    got = {(b["start"], json.dumps(b["group"]) if group_by else None): b["value"] for b in buckets}
    expected = {key: _fmt(_aggregate(func, prop, rows)) for key, rows in expected_rows.items()}
    assert got == expected
