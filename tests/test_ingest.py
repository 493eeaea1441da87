"""Ingest: unique identifiers, atomic batches, the time window, inactive meters, unknown
external customers, and the Usage handed to the credit engine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from drawdown.clock import ManualClock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.events import service
from drawdown.ids import parse_id
from tests.helpers import ingest, make_meter
from tests.test_errors import assert_problem


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _events(api: Any, query: str = "") -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = api.ok("GET", "/v1/events?limit=100" + query)["data"]
    return data


def test_ingest_stores_events(api: Any, clock: ManualClock) -> None:
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    at = clock.now() - timedelta(hours=1)
    result = ingest(
        api,
        {
            "identifier": "a",
            "name": "calls",
            "customer_id": customer["id"],
            "timestamp": _iso(at),
            "properties": {"n": 3, "tags": {"x": [1, "y"]}},
        },
        {"identifier": "b", "name": "calls", "external_customer_id": "u1"},
    )
    assert result == {"inserted": 2, "duplicates": 0}
    second, first = _events(api)
    assert first["object"] == "event" and first["id"].startswith("evt_")
    assert (
        first["identifier"],
        first["name"],
        first["customer_id"],
        first["external_customer_id"],
    ) == ("a", "calls", customer["id"], None)
    assert first["timestamp"] == _iso(at) and first["ingested_at"] == _iso(clock.now())
    assert first["properties"] == {"n": 3, "tags": {"x": [1, "y"]}}
    # An event reported by external id is resolved to the customer, and keeps the id sent.
    assert (second["customer_id"], second["external_customer_id"]) == (customer["id"], "u1")
    assert second["timestamp"] == _iso(clock.now())
    assert api.ok("GET", f"/v1/events/{first['id']}") == first
    assert_problem(api.get("/v1/events/evt_nope"), 404, "not_found")


def test_duplicates_are_counted_and_change_nothing(api: Any) -> None:
    ev = {
        "identifier": "same",
        "name": "calls",
        "external_customer_id": "u1",
        "properties": {"v": 1},
    }
    assert ingest(api, ev) == {"inserted": 1, "duplicates": 0}
    changed = {**ev, "properties": {"v": 2}}
    assert ingest(api, changed, {**ev, "identifier": "new"}, {**ev, "identifier": "new"}) == {
        "inserted": 1,
        "duplicates": 2,
    }
    stored = {e["identifier"]: e["properties"] for e in _events(api)}
    assert stored == {"same": {"v": 1}, "new": {"v": 1}}


def test_a_bad_batch_stores_nothing_and_names_every_bad_index(api: Any, clock: ManualClock) -> None:
    make_meter(api, "off")
    api.ok("POST", "/v1/meters/off/deactivate")
    now = clock.now()
    good = {"identifier": "ok", "name": "calls", "external_customer_id": "u1"}
    batch = [
        good,
        {"name": "calls", "external_customer_id": "u1"},  # no identifier
        {**good, "identifier": "old", "timestamp": _iso(now - timedelta(days=35, seconds=1))},
        {**good, "identifier": "future", "timestamp": _iso(now + timedelta(seconds=301))},
        {
            **good,
            "identifier": "ghost",
            "external_customer_id": None,
            "customer_id": "cus_00000000000000000000000000000000",
        },
        {**good, "identifier": "off", "name": "off"},
        {**good, "identifier": "both", "customer_id": "cus_x"},
        {"identifier": "neither", "name": "calls"},
        {**good, "identifier": "naive", "timestamp": "2024-01-01T00:00:00"},
        {**good, "identifier": "extra", "color": "red"},
        "not an object",
    ]
    body = assert_problem(
        api.post("/v1/events/ingest", json={"events": batch}), 422, "validation_error"
    )
    indexes = sorted({e["loc"][2] for e in body["errors"]})
    assert indexes == list(range(1, len(batch)))
    assert all(e["loc"][:2] == ["body", "events"] for e in body["errors"])
    by_index = {e["loc"][2]: e for e in body["errors"]}
    assert by_index[2]["loc"][3] == "timestamp" and "older" in by_index[2]["msg"]
    assert by_index[3]["loc"][3] == "timestamp" and "future" in by_index[3]["msg"]
    assert by_index[4]["loc"][3] == "customer_id"
    assert by_index[5]["loc"][3] == "name" and "inactive" in by_index[5]["msg"]
    assert _events(api) == []


def test_time_window_edges(api: Any, clock: ManualClock) -> None:
    now = clock.now()
    base = {"name": "calls", "external_customer_id": "u1"}
    plus_two = (now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    result = ingest(
        api,
        {**base, "identifier": "oldest", "timestamp": _iso(now - timedelta(days=35))},
        {**base, "identifier": "latest", "timestamp": _iso(now + timedelta(seconds=300))},
        {**base, "identifier": "offset", "timestamp": plus_two.isoformat()},
    )
    assert result == {"inserted": 3, "duplicates": 0}
    stored = {e["identifier"]: e["timestamp"] for e in _events(api)}
    assert stored["offset"] == _iso(now - timedelta(hours=1))  # rendered in UTC
    assert stored["oldest"] == _iso(now - timedelta(days=35))


def test_batch_size_limit(api: Any, settings: Settings) -> None:
    events = [
        {"identifier": str(i), "name": "c", "external_customer_id": "u"}
        for i in range(settings.max_batch_events + 1)
    ]
    body = assert_problem(
        api.post("/v1/events/ingest", json={"events": events}), 422, "validation_error"
    )
    assert body["errors"] == [
        {"loc": ["body", "events"], "msg": f"at most {settings.max_batch_events} events per batch"}
    ]
    assert ingest(api, *events[:-1]) == {"inserted": settings.max_batch_events, "duplicates": 0}


def test_property_limits(api: Any) -> None:
    def deep(levels: int) -> dict[str, Any]:
        node: dict[str, Any] = {"leaf": 1}
        for _ in range(levels - 1):
            node = {"k": node}
        return node

    base = {"name": "calls", "external_customer_id": "u1"}
    bad = [
        deep(6),
        {f"k{i}": i for i in range(201)},
        {"k": list(range(200))},
        {"k" * 101: 1},
        {"": 1},
        {"s": "x" * 1001},
        {"n": 2**53 + 1},
        {"n": -(2.0**54)},
    ]
    events = [{**base, "identifier": f"bad{i}", "properties": p} for i, p in enumerate(bad)]
    body = assert_problem(
        api.post("/v1/events/ingest", json={"events": events}), 422, "validation_error"
    )
    assert sorted({e["loc"][2] for e in body["errors"]}) == list(range(len(bad)))
    good = [
        deep(5),
        {f"k{i}": i for i in range(200)},
        {"k" * 100: "x" * 1000, "n": 2**53, "f": -1.5},
    ]
    events = [{**base, "identifier": f"good{i}", "properties": p} for i, p in enumerate(good)]
    assert ingest(api, *events)["inserted"] == 3
    nan = b'{"events": [{"identifier": "nan", "name": "c", "external_customer_id": "u", "properties": {"x": NaN}}]}'
    response = api.post(
        "/v1/events/ingest", content=nan, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation_error")


def test_inactive_meter_rejects_then_accepts_again(api: Any) -> None:
    meter = make_meter(api, "calls")
    api.ok("POST", f"/v1/meters/{meter['id']}/deactivate")
    ev = {"identifier": "a", "name": "calls", "external_customer_id": "u1"}
    body = assert_problem(
        api.post("/v1/events/ingest", json={"events": [ev]}), 422, "validation_error"
    )
    assert meter["id"] in body["errors"][0]["msg"]
    assert ingest(api, {**ev, "identifier": "b", "name": "other"})["inserted"] == 1
    api.ok("POST", f"/v1/meters/{meter['id']}/activate")
    assert ingest(api, ev)["inserted"] == 1


def test_unknown_external_customers_are_claimed_on_create(api: Any) -> None:
    ingest(
        api,
        {"identifier": "a", "name": "calls", "external_customer_id": "later"},
        {"identifier": "b", "name": "calls", "external_customer_id": "someone_else"},
    )
    assert {e["customer_id"] for e in _events(api)} == {None}
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "later"})
    owners = {e["identifier"]: e["customer_id"] for e in _events(api)}
    assert owners == {"a": customer["id"], "b": None}
    # Setting an external_id for the first time claims too.
    other = api.ok("POST", "/v1/customers", 201, json={"name": "no ext yet"})
    api.ok("PATCH", f"/v1/customers/{other['id']}", json={"external_id": "someone_else"})
    owners = {e["identifier"]: e["customer_id"] for e in _events(api)}
    assert owners == {"a": customer["id"], "b": other["id"]}


def test_scopes(api: Any, make_api: Any) -> None:
    ev = {"identifier": "a", "name": "calls", "external_customer_id": "u1"}
    ingester = make_api(scope="ingest", organization_id=api.tenant.organization_id)
    assert ingester.ok("POST", "/v1/events/ingest", json={"events": [ev]})["inserted"] == 1
    reader = make_api(scope="read", organization_id=api.tenant.organization_id)
    assert_problem(
        reader.post("/v1/events/ingest", json={"events": [ev]}), 403, "insufficient_scope"
    )
    # Test and live data never mix: the same identifier is new in live mode.
    live = make_api(mode="live", organization_id=api.tenant.organization_id)
    assert live.ok("POST", "/v1/events/ingest", json={"events": [ev]})["inserted"] == 1
    assert len(_events(live)) == 1 and _events(live)[0]["livemode"] is True


# ---- the Usage each stored event hands the credit engine -------------------------------------


def _store(
    database: Database,
    api: Any,
    settings: Settings,
    clock: ManualClock,
    events: list[dict[str, Any]],
) -> Any:
    with database.write() as conn:
        return service.store_batch(conn, api.tenant, events, settings, clock.now())


def test_usages_price_sum_and_count_meters(
    api: Any, database: Database, settings: Settings, clock: ManualClock
) -> None:
    tokens = make_meter(
        api,
        "tokens",
        aggregation={"func": "sum", "property": "usage.n"},
        rate="0.001",
        filter={"clauses": [{"property": "model", "operator": "ne", "value": "free"}]},
    )
    calls = make_meter(api, "calls", rate="0.25")
    make_meter(api, "peak", aggregation={"func": "max", "property": "n"})
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    cid = parse_id("customer", customer["id"])
    at = clock.now() - timedelta(minutes=5)
    ev = {"external_customer_id": "u1", "timestamp": _iso(at)}
    result, usages = _store(
        database,
        api,
        settings,
        clock,
        [
            {
                **ev,
                "identifier": "1",
                "name": "tokens",
                "properties": {"usage": {"n": 1234}, "model": "gpt"},
            },
            {**ev, "identifier": "2", "name": "calls"},
            {
                **ev,
                "identifier": "3",
                "name": "tokens",
                "properties": {"usage": {"n": 5}, "model": "free"},
            },
            {**ev, "identifier": "4", "name": "tokens", "properties": {"usage": {"n": "12"}}},
            {**ev, "identifier": "5", "name": "tokens", "properties": {}},
            {**ev, "identifier": "6", "name": "peak", "properties": {"n": 3}},
            {**ev, "identifier": "7", "name": "nobody", "properties": {"n": 3}},
            {**ev, "identifier": "8", "name": "calls", "external_customer_id": "unknown"},
            {**ev, "identifier": "9", "name": "tokens", "properties": {"usage": {"n": 0.5}}},
            {**ev, "identifier": "2", "name": "calls"},
        ],
    )
    assert (result.inserted, result.duplicates) == (9, 1)
    tokens_cur = parse_id("currency", tokens["currency_id"])
    calls_cur = parse_id("currency", calls["currency_id"])
    # rate 0.001 -> a 3-place currency: 1234 x 0.001 = 1.234 -> 1234 units; 0.5 x 0.001 =
    # 0.0005 -> half to even -> 0 units (books nothing); count: 0.25 -> 25 units (2 places).
    assert [
        (u.currency_id, u.amount_units, u.customer_id, u.timestamp, u.expires_at) for u in usages
    ] == [
        (tokens_cur, 1234, cid, at, None),
        (calls_cur, 25, cid, at, None),
    ]
    with database.read() as conn:
        ids = [
            service.get_event(conn, api.tenant, e["id"]).id
            for e in reversed(_events(api, "&name=tokens"))
        ]
    assert usages[0].event_id == ids[0]


def test_negative_usage_and_credit_expiry(
    api: Any, database: Database, settings: Settings, clock: ManualClock
) -> None:
    make_meter(api, "credits", aggregation={"func": "sum", "property": "v"})
    api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    ev = {"external_customer_id": "u1", "name": "credits"}
    expires = clock.now() + timedelta(days=30)
    _, usages = _store(
        database,
        api,
        settings,
        clock,
        [
            {
                **ev,
                "identifier": "a",
                "properties": {"v": -10.5, "credit_expires_at": _iso(expires)},
            },
            {**ev, "identifier": "b", "properties": {"v": -1}},
            {
                **ev,
                "identifier": "c",
                "properties": {"v": 2, "credit_expires_at": "ignored on positive"},
            },
        ],
    )
    assert [(u.amount_units, u.expires_at) for u in usages] == [
        (-1050, expires),
        (-100, None),
        (200, None),
    ]
    bad = {**ev, "identifier": "d", "properties": {"v": -1, "credit_expires_at": "soon"}}
    body = assert_problem(
        api.post("/v1/events/ingest", json={"events": [bad]}), 422, "validation_error"
    )
    assert body["errors"][0]["loc"] == ["body", "events", 0, "properties", "credit_expires_at"]


def test_too_large_usage_is_a_422(api: Any) -> None:
    make_meter(api, "big", aggregation={"func": "sum", "property": "v"}, rate="1000000000000")
    ev = {
        "identifier": "a",
        "name": "big",
        "external_customer_id": "u1",
        "properties": {"v": 2**53},
    }
    body = assert_problem(
        api.post("/v1/events/ingest", json={"events": [ev]}), 422, "validation_error"
    )
    assert body["errors"][0]["loc"] == ["body", "events", 0, "properties"]


def test_claimed_events_are_priced_in_timestamp_order(
    api: Any, database: Database, settings: Settings, clock: ManualClock
) -> None:
    make_meter(api, "calls", rate="2")
    now = clock.now()
    ev = {"name": "calls", "external_customer_id": "late"}
    _, usages = _store(
        database,
        api,
        settings,
        clock,
        [
            {**ev, "identifier": "newer", "timestamp": _iso(now - timedelta(minutes=1))},
            {**ev, "identifier": "older", "timestamp": _iso(now - timedelta(minutes=2))},
            {**ev, "identifier": "other", "name": "unmetered"},
        ],
    )
    assert usages == []  # nobody to charge yet
    customer = api.ok("POST", "/v1/customers", 201, json={"name": "x"})
    cid = parse_id("customer", customer["id"])
    assert cid is not None
    with database.write() as conn:
        claimed, usages = service.claim_events(conn, api.tenant, cid, "late")
    assert claimed == 3
    assert [(u.timestamp, u.amount_units, u.customer_id) for u in usages] == [
        (now - timedelta(minutes=2), 200, cid),
        (now - timedelta(minutes=1), 200, cid),
    ]
    with database.write() as conn:
        assert service.claim_events(conn, api.tenant, cid, "late") == (0, [])


def test_rate_change_applies_to_later_events(
    api: Any, database: Database, settings: Settings, clock: ManualClock
) -> None:
    meter = make_meter(api, "calls", rate="1")
    api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    ev = {"name": "calls", "external_customer_id": "u1"}
    _, before = _store(database, api, settings, clock, [{**ev, "identifier": "a"}])
    api.ok("PATCH", f"/v1/meters/{meter['id']}", json={"rate": "3"})
    _, after = _store(database, api, settings, clock, [{**ev, "identifier": "b"}])
    assert [u.amount_units for u in before + after] == [100, 300]
    assert Decimal(api.ok("GET", f"/v1/meters/{meter['id']}")["rate"]) == 3
