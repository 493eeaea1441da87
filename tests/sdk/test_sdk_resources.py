"""Currencies, meters, events, credit grants, the ledger, balances and access through the SDK,
against a real server process on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import drawdown


def _events(
    customer_ext: str, count: int, tokens: int = 100, prefix: str = "e"
) -> list[dict[str, Any]]:
    return [
        {
            "identifier": f"{prefix}-{i}",
            "name": "api_call",
            "external_customer_id": customer_ext,
            "properties": {"tokens": tokens},
        }
        for i in range(count)
    ]


def test_currencies(client: drawdown.Client) -> None:
    usd = client.currencies.create(name="US dollar", symbol="$", decimals=2)
    assert usd.id.startswith("cur_") and (usd.symbol, usd.decimals) == ("$", 2)
    assert client.currencies.get(usd.id) == usd
    gems = client.currencies.create(name="Gems", symbol="G", decimals=0)
    assert [c.id for c in client.currencies.list_all(limit=1)] == [gems.id, usd.id]
    with pytest.raises(drawdown.ValidationFailedError) as caught:
        client.currencies.create(name="Bad", symbol="B", decimals=-1)
    assert ("body", "decimals") in {e.loc for e in caught.value.errors}


def test_meters(client: drawdown.Client) -> None:
    meter = client.meters.create(
        name="API tokens",
        event_name="api_call",
        aggregation={"func": "sum", "property": "tokens"},
        unit="tokens",
        rate=Decimal("0.01"),
        metadata={"team": "core"},
    )
    assert meter.id.startswith("mtr_") and meter.status == "active"
    assert meter.aggregation == drawdown.MeterAggregation(func="sum", property="tokens")
    assert meter.rate == Decimal("0.01") and meter.currency_id
    assert client.meters.get(meter.id) == meter
    assert client.meters.get("api_call") == meter  # by event_name

    renamed = client.meters.update(meter.id, name="Tokens", rate="0.02")
    assert renamed.name == "Tokens" and renamed.rate == Decimal("0.02")
    assert client.meters.deactivate(meter.id).status == "inactive"
    assert [m.id for m in client.meters.list_all(status="inactive")] == [meter.id]
    assert client.meters.list(status="active").data == []
    assert client.meters.activate(meter.id).status == "active"

    count = client.meters.create(
        name="Logins", event_name="login", aggregation=drawdown.MeterAggregation(func="count")
    )
    assert [m.id for m in client.meters.list_all(limit=1)] == [count.id, meter.id]
    assert [m.id for m in client.meters.list_all(event_name="login")] == [count.id]
    with pytest.raises(drawdown.ConflictError):
        client.meters.create(name="Again", event_name="login", aggregation={"func": "count"})
    with pytest.raises(drawdown.ValidationFailedError):
        client.meters.create(name="No prop", event_name="x", aggregation={"func": "sum"})


def test_events_ingest_list_get(client: drawdown.Client) -> None:
    customer = client.customers.create(external_id="u1")
    client.meters.create(name="Calls", event_name="api_call", aggregation={"func": "count"})
    when = datetime.now(UTC) - timedelta(minutes=5)
    batch = [
        *_events("u1", 3),
        {"identifier": "t", "name": "api_call", "customer_id": customer.id, "timestamp": when},
    ]
    assert client.events.ingest(batch) == drawdown.IngestResult(inserted=4, duplicates=0)
    assert client.events.ingest(batch[:2]) == drawdown.IngestResult(inserted=0, duplicates=2)

    listed = list(client.events.list_all(limit=3))
    assert len(listed) == 4 and {e.identifier for e in listed} == {"e-0", "e-1", "e-2", "t"}
    timed = client.events.get(next(e.id for e in listed if e.identifier == "t"))
    assert timed.timestamp == when.replace(microsecond=timed.timestamp.microsecond)
    assert timed.customer_id == customer.id and timed.properties == {}
    assert [
        e.identifier
        for e in client.events.list_all(
            from_=when - timedelta(seconds=1), to=when + timedelta(seconds=1)
        )
    ] == ["t"]
    assert len(client.events.list(customer_id=customer.id, limit=100).data) == 4

    with pytest.raises(drawdown.ValidationFailedError) as caught:
        client.events.ingest(
            [
                {"identifier": "ok", "name": "api_call", "external_customer_id": "u1"},
                {"name": "no id"},
            ]
        )
    assert all(item.loc[:3] == ("body", "events", 1) for item in caught.value.errors)


def test_ingest_all_batches_and_counts(client: drawdown.Client) -> None:
    client.meters.create(name="Calls", event_name="api_call", aggregation={"func": "count"})
    seen: list[drawdown.IngestTotals] = []
    events = (e for e in _events("u9", 25))  # any iterable, consumed lazily
    totals = client.events.ingest_all(events, batch_size=10, on_batch=seen.append)
    assert totals == drawdown.IngestTotals(events=25, inserted=25, duplicates=0, batches=3)
    assert [t.events for t in seen] == [10, 20, 25]

    again = client.events.ingest_all(_events("u9", 30), batch_size=7, concurrency=3)
    assert again == drawdown.IngestTotals(events=30, inserted=5, duplicates=25, batches=5)
    assert len(list(client.events.list_all())) == 30


def test_ingest_all_stops_at_a_bad_batch(client: drawdown.Client) -> None:
    events = [*_events("u1", 4), {"identifier": "bad"}, *_events("u1", 4, prefix="later")]
    with pytest.raises(drawdown.IngestBatchError) as caught:
        client.events.ingest_all(events, batch_size=2)
    error = caught.value
    assert (error.batch_index, error.first_event_index) == (2, 4)
    assert isinstance(error.error, drawdown.ValidationFailedError)
    assert error.totals == drawdown.IngestTotals(events=4, inserted=4, duplicates=0, batches=2)
    assert len(list(client.events.list_all())) == 4  # the bad batch and later ones: nothing


def test_async_ingest_all_concurrently(live_url: str, api_key: str) -> None:
    async def events() -> AsyncIterator[dict[str, Any]]:
        for event in _events("u2", 23):
            yield event

    async def run() -> tuple[drawdown.IngestTotals, int]:
        async with drawdown.AsyncClient(api_key, base_url=live_url) as client:
            totals = await client.events.ingest_all(events(), batch_size=5, concurrency=3)
            stored = [e async for e in client.events.list_all()]
            return totals, len(stored)

    totals, stored = asyncio.run(run())
    assert totals == drawdown.IngestTotals(events=23, inserted=23, duplicates=0, batches=5)
    assert stored == 23


def test_grants_ledger_balance_access(client: drawdown.Client) -> None:
    customer = client.customers.create(external_id="u1")
    meter = client.meters.create(
        name="Tokens", event_name="api_call", aggregation={"func": "sum", "property": "tokens"},
        rate="0.01",
    )  # fmt: skip
    assert client.access.check("api_call", customer_id=customer.id).has_access is False

    grant = client.credit_grants.create(
        external_customer_id="u1", meter_id=meter.id, amount="10.00", category="promotional",
        priority=10, name="trial", metadata={"source": "signup"},
    )  # fmt: skip
    assert grant.id.startswith("cgr_") and grant.currency_id == meter.currency_id
    assert (grant.amount, grant.remaining, grant.status) == (
        Decimal("10.00"),
        Decimal("10.00"),
        "active",
    )
    assert client.credit_grants.get(grant.id) == grant

    totals = client.events.ingest_all(_events("u1", 3, tokens=100))  # 3 x 100 x 0.01 = 3.00
    assert totals.inserted == 3

    [balance] = client.balances.list(customer_id=customer.id)
    assert balance.currency_id == meter.currency_id
    assert (balance.available, balance.debt, balance.pending) == (
        Decimal("7.00"),
        Decimal(0),
        Decimal(0),
    )
    assert client.balances.list(external_customer_id="u1") == [balance]

    access = client.access.check(meter.id, external_customer_id="u1")
    assert access.has_access is True and access.available == Decimal("7.00")

    ledger = list(client.credit_transactions.list_all(customer_id=customer.id, limit=2))
    assert [t.type for t in ledger] == ["consumption"] * 3 + ["grant"]
    assert [t.balance_after for t in ledger] == [
        Decimal(v) for v in ("7.00", "8.00", "9.00", "10.00")
    ]
    assert sum(t.amount for t in ledger) == balance.available
    assert client.credit_transactions.get(ledger[0].id) == ledger[0]
    assert [t.id for t in client.credit_transactions.list_all(grant_id=grant.id, type="grant")] == [
        ledger[-1].id
    ]

    voided = client.credit_grants.void(grant.id)
    assert voided.status == "voided" and voided.remaining == 0
    assert client.balances.list(customer_id=customer.id)[0].available == 0
    assert [
        g.id for g in client.credit_grants.list_all(customer_id=customer.id, status="voided")
    ] == [grant.id]
    assert client.access.check("api_call", customer_id=customer.id).has_access is False


def test_grant_expire_and_pending(client: drawdown.Client) -> None:
    customer = client.customers.create(name="P")
    usd = client.currencies.create(name="Dollar", symbol="$", decimals=2)
    later = datetime.now(UTC) + timedelta(days=1)
    pending = client.credit_grants.create(
        customer_id=customer.id, currency_id=usd.id, amount=5, effective_at=later,
        expires_at=later + timedelta(days=30),
    )  # fmt: skip
    assert pending.status == "pending" and pending.effective_at == later.replace(
        microsecond=pending.effective_at.microsecond
    )
    [balance] = client.balances.list(customer_id=customer.id)
    assert (balance.available, balance.pending) == (Decimal(0), Decimal("5"))

    now_grant = client.credit_grants.create(
        customer_id=customer.id, currency_id=usd.id, amount="2.50"
    )
    expired = client.credit_grants.expire(now_grant.id)
    assert expired.status == "expired"
    with pytest.raises(drawdown.ValidationFailedError) as caught:
        client.credit_grants.create(customer_id=customer.id, currency_id=usd.id, amount="1.001")
    assert ("body", "amount") in {e.loc for e in caught.value.errors}
    with pytest.raises(drawdown.NotFoundError):
        client.credit_grants.get("cgr_0000")


def test_retried_grant_void_is_idempotent(client: drawdown.Client) -> None:
    customer = client.customers.create(name="V")
    usd = client.currencies.create(name="Dollar", symbol="$", decimals=2)
    grant = client.credit_grants.create(
        customer_id=customer.id, currency_id=usd.id, amount="3", idempotency_key="grant-v-1"
    )
    same = client.credit_grants.create(
        customer_id=customer.id, currency_id=usd.id, amount="3", idempotency_key="grant-v-1"
    )
    assert same.id == grant.id
    assert len(list(client.credit_grants.list_all(customer_id=customer.id))) == 1
    first = client.credit_grants.void(grant.id, idempotency_key="void-1")
    assert client.credit_grants.void(grant.id, idempotency_key="void-1") == first
    voids = list(client.credit_transactions.list_all(customer_id=customer.id, type="void"))
    assert len(voids) == 1 and voids[0].amount == Decimal("-3.00")


def test_meter_usage(client: drawdown.Client) -> None:
    ann = client.customers.create(external_id="ann")
    client.customers.create(external_id="bob")
    meter = client.meters.create(
        name="Tokens", event_name="api_call", aggregation={"func": "sum", "property": "tokens"}
    )
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    events = [
        {"identifier": f"u{i}", "name": "api_call", "external_customer_id": who,
         "timestamp": hour + timedelta(minutes=20 * i), "properties": {"tokens": tokens}}
        for i, (who, tokens) in enumerate([("ann", 5), ("bob", 7), ("ann", 1.5), ("ann", 10)])
    ]  # fmt: skip
    assert client.events.ingest(events).inserted == 4

    usage = client.meters.usage(meter.id, from_=hour, to=hour + timedelta(hours=2), window="hour")
    assert isinstance(usage, drawdown.MeterUsage) and usage.meter_id == meter.id
    assert (usage.from_, usage.to, usage.window, usage.timezone) == (
        hour,
        hour + timedelta(hours=2),
        "hour",
        "UTC",
    )
    assert [(b.start, b.value) for b in usage.buckets] == [
        (hour, Decimal("13.5")), (hour + timedelta(hours=1), Decimal("10"))]  # fmt: skip
    assert usage.total == Decimal("23.5")  # exact decimals, no float drift

    by_name = client.meters.usage(
        "api_call", from_=hour, to=hour + timedelta(hours=2), window="none", customer_id=ann.id
    )
    assert by_name.total == Decimal("16.5") and len(by_name.buckets) == 1
    grouped = client.meters.usage(
        meter.id, from_=hour, to=hour + timedelta(hours=2), window="none", group_by="customer"
    )
    assert sorted(str(b.value) for b in grouped.buckets) == ["16.5", "7"]
    assert all(b.group is not None for b in grouped.buckets)
    with pytest.raises(drawdown.ValidationFailedError):
        client.meters.usage(meter.id, from_=hour, to=hour - timedelta(hours=1))
