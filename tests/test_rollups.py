"""Usage rollups answer exactly what raw aggregation answers (on SQLite and PostgreSQL):
maintained by ingest, moved by claims, rebuilt in chunks for a meter made after
its events were stored, with late events in their bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from drawdown.clock import ManualClock
from drawdown.db.engine import Database
from drawdown.db.tables import usage_rollup_backfills, usage_rollups
from drawdown.events import usage
from drawdown.events.backfill import backfill_all
from drawdown.meters import store as meter_store
from drawdown.rollups.plan import split

NOW = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
SPAN_S = 30 * 86400
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"]
FILTERS = [
    None,
    {"conjunction": "and", "clauses": [{"property": "tag", "operator": "eq", "value": "x"}]},
    {"conjunction": "or", "clauses": [{"property": "v", "operator": "gt", "value": 0}]},
]

numbers = st.one_of(
    st.integers(-50, 50),
    st.integers(-400, 400).map(lambda k: k / 8),
    st.sampled_from([2**45, -(2**45) + 3, 0.1, 1e-7, "7", True]),
)
props = st.fixed_dictionaries(
    {}, optional={"v": numbers, "tag": st.sampled_from(["x", "y"]), "w": st.integers(0, 9)}
)
# (seconds before NOW, who, properties); "b" and "c" are unknown until "b" is created.
batch = st.lists(
    st.tuples(st.integers(0, SPAN_S), st.sampled_from(["a", "b", "c"]), props), max_size=20
)


@st.composite
def ranges(draw: Any) -> tuple[str, datetime, datetime, str]:
    window = draw(st.sampled_from(["hour", "day", "week", "month", "none"]))
    aligned = draw(st.booleans())
    step = 900 if aligned else 1
    start = NOW - timedelta(seconds=draw(st.integers(0, SPAN_S // step)) * step + 3600)
    longest = 20 * 86400 if window == "hour" else 40 * 86400
    length = timedelta(seconds=draw(st.integers(1, longest // step)) * step)
    return window, start, start + length, draw(st.sampled_from(ZONES))


def _events(items: list[Any], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "identifier": f"{prefix}{i}",
            "name": "ev",
            "external_customer_id": who,
            "timestamp": (NOW - timedelta(seconds=ago, microseconds=i)).isoformat(),
            "properties": p,
        }
        for i, (ago, who, p) in enumerate(items)
    ]


def _both(database: Database, api: Any, meter_id: str, query: dict[str, Any]) -> None:
    """The usage from rollups equals the usage from raw events, for every grouping."""
    with database.read() as conn:
        meter = meter_store.get_by_id(conn, api.tenant, _uuid(meter_id))
        for group_by, customer in ((None, None), ("customer", None), (None, query["a"])):
            q = usage.usage_query(
                api.tenant,
                meter,
                query["from"],
                query["to"],
                query["window"],
                query["tz"],
                customer,
                group_by,
            )
            fast = usage.report(conn, q)
            slow = usage.report(conn, q, use_rollups=False)
            assert fast == slow, (group_by, customer)


def _uuid(ref: str) -> Any:
    from drawdown.ids import parse_id

    return parse_id("meter", ref)


def _rollup_rows(database: Database) -> int:
    with database.read() as conn:
        pending = conn.execute(select(func.count()).select_from(usage_rollup_backfills)).scalar()
        assert pending == 0
        return int(conn.execute(select(func.count()).select_from(usage_rollups)).scalar_one())


@given(
    first=batch,
    late=batch,
    func_name=st.sampled_from(["count", "sum", "avg", "min", "max"]),
    flt=st.sampled_from(FILTERS),
    meter_first=st.booleans(),
    window=ranges(),
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # Shrinking a failure here takes minutes of CI time; the failing example is printed.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
def test_rollups_match_raw_aggregation(
    make_api: Any,
    clock: ManualClock,
    database: Database,
    first: Any,
    late: Any,
    func_name: str,
    flt: Any,
    meter_first: bool,
    window: Any,
) -> None:
    clock.set(NOW)
    api = make_api()
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "a"})
    aggregation = (
        {"func": func_name} if func_name == "count" else {"func": func_name, "property": "v"}
    )
    body = {"name": "m", "event_name": "ev", "filter": flt, "aggregation": aggregation}
    if meter_first:
        meter = api.ok("POST", "/v1/meters", 201, json=body)
    api.ok("POST", "/v1/events/ingest", json={"events": _events(first, "f")})
    if not meter_first:
        meter = api.ok("POST", "/v1/meters", 201, json=body)
        backfill_all(database, max_events=7)  # several chunks
    # Late events (up to 30 days old) into buckets that already have rows, then a claim.
    api.ok("POST", "/v1/events/ingest", json={"events": _events(late, "l")})
    api.ok("POST", "/v1/customers", 201, json={"external_id": "b"})
    name, start, end, zone = window
    query = {"from": start, "to": end, "window": name, "tz": zone, "a": customer["id"]}
    _both(database, api, meter["id"], query)
    everything = {
        "from": datetime(1970, 1, 1, tzinfo=UTC),
        "to": datetime(9999, 1, 1, tzinfo=UTC),
        "window": "none",
        "tz": "UTC",
        "a": customer["id"],
    }
    _both(database, api, meter["id"], everything)
    if first or late:
        assert _rollup_rows(database) > 0


def test_rollup_is_used_for_aligned_ranges() -> None:
    day = 86400 * 1_000_000
    plan = split([(0, 2 * day), (2 * day, 3 * day + 1800 * 1_000_000)], (86400, 3600, 900))
    assert plan is not None
    assert plan.ranges == {86400: [(0, 3 * day)], 900: [(3 * day, 3 * day + 1_800_000_000)]}
    assert plan.raw == []
    ragged = split([(1, day + 5)], (86400, 3600, 900))
    assert ragged is not None and ragged.raw == [(1, 900_000_000), (day, day + 5)]
    assert split([(0, 60_000_000)], (86400, 3600, 900)) is None  # minute windows read raw
