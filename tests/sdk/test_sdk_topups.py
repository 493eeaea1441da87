"""Top-ups through the SDK (sync and async) and the CLI against a real server process, on
both databases; the server's own clock thread runs a schedule rule."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

import drawdown
from tests.sdk.conftest import Run, ok_json


def _setup(client: drawdown.Client) -> tuple[drawdown.Customer, drawdown.Currency]:
    currency = client.currencies.create(name="Credits", symbol="cr", decimals=2)
    client.meters.create(
        name="Calls",
        event_name="calls",
        aggregation={"func": "sum", "property": "units"},
        currency_id=currency.id,
    )
    return client.customers.create(external_id="tu-user"), currency


def _available(client: drawdown.Client, customer: drawdown.Customer) -> Decimal:
    balances = client.balances.list(customer_id=customer.id)
    return balances[0].available if balances else Decimal(0)


def test_rules_and_external_top_ups(client: drawdown.Client) -> None:
    customer, currency = _setup(client)
    client.credit_grants.create(customer_id=customer.id, currency_id=currency.id, amount="10")
    rule = client.topup_rules.create(
        customer_id=customer.id,
        currency_id=currency.id,
        trigger="threshold",
        threshold="4",
        amount="10",
        settlement="external",
        grant_template={"category": "paid", "name": "Auto refill"},
        limits={"max_per_day": 5, "max_amount_per_day": "100"},
    )
    assert isinstance(rule, drawdown.TopupRule) and rule.threshold == Decimal("4")
    assert rule.limits["max_amount_per_day"] == "100.00"
    client.events.ingest(
        [{"identifier": "u1", "name": "calls", "external_customer_id": "tu-user",
          "properties": {"units": 7}}]
    )  # fmt: skip
    (pending,) = client.topups.list(customer_id=customer.id, status="pending").data
    assert isinstance(pending, drawdown.Topup) and pending.amount == Decimal("10")
    confirmed = client.topups.confirm(pending.id, external_reference="pi_1")
    assert confirmed.status == "succeeded" and confirmed.grant_id
    assert _available(client, customer) == Decimal("13")
    with pytest.raises(drawdown.ConflictError) as caught:
        client.topups.confirm(pending.id)
    assert caught.value.code == "topup_succeeded"

    manual = client.topups.create(
        customer_id=customer.id, currency_id=currency.id, amount="2.5", settlement="external"
    )
    failed = client.topups.fail(manual.id, reason="card declined")
    assert (failed.status, failed.failure_reason) == ("failed", "card declined")
    assert [t.id for t in client.topups.list_all(customer_id=customer.id)] == [
        manual.id,
        pending.id,
    ]
    updated = client.topup_rules.update(rule.id, threshold="1")
    assert updated.threshold == Decimal("1")
    assert client.topup_rules.disable(rule.id).enabled is False
    assert [r.id for r in client.topup_rules.list(customer_id=customer.id).data] == [rule.id]
    client.topup_rules.delete(rule.id)
    with pytest.raises(drawdown.NotFoundError):
        client.topup_rules.get(rule.id)


def test_the_servers_clock_runs_a_schedule(client: drawdown.Client) -> None:
    customer, currency = _setup(client)
    rule = client.topup_rules.create(
        customer_id=customer.id,
        currency_id=currency.id,
        trigger="schedule",
        interval="month",
        amount="25",
        grant_template={"category": "promotional", "expires_after": "P1M"},
    )
    deadline = time.monotonic() + 20
    while not client.topups.list(customer_id=customer.id).data:
        assert time.monotonic() < deadline, "the clock thread never ran the schedule"
        time.sleep(0.2)
    (made,) = client.topups.list(customer_id=customer.id).data
    assert (made.reason, made.status, made.rule_id) == ("schedule", "succeeded", rule.id)
    assert _available(client, customer) == Decimal("25")
    assert client.topup_rules.get(rule.id).next_run_at is not None


def test_async_twin(live_url: str, api_key: str) -> None:
    async def main() -> None:
        async with drawdown.AsyncClient(api_key, base_url=live_url) as client:
            currency = await client.currencies.create(name="A", symbol="a", decimals=0)
            customer = await client.customers.create(external_id="tu-async")
            made = await client.topups.create(
                external_customer_id="tu-async", currency_id=currency.id, amount=7
            )
            assert (made.status, made.amount) == ("succeeded", Decimal(7))
            got = await client.topups.get(made.id)
            assert got.grant_id == made.grant_id and got.customer_id == customer.id
            rule = await client.topup_rules.create(
                currency_id=currency.id, trigger="threshold", threshold=1, amount=5
            )
            assert rule.customer_id is None
            defaults = await client.topup_rules.list(defaults_only=True)
            assert [r.id for r in defaults.data] == [rule.id]

    asyncio.run(main())


def test_cli(run: Run, client: drawdown.Client) -> None:
    customer, currency = _setup(client)
    rule = ok_json(run(
        "topups", "rules", "create", "--trigger", "threshold", "--customer", customer.id,
        "--currency-id", currency.id, "--threshold", "2", "--amount", "5", "--json",
    ))  # fmt: skip
    assert (rule["trigger"], rule["amount"]) == ("threshold", "5.00")
    listed = ok_json(run("topups", "rules", "list", "--customer", customer.id, "--json"))
    assert [r["id"] for r in listed] == [rule["id"]]
    assert ok_json(run("topups", "rules", "disable", rule["id"], "--json"))["enabled"] is False
    made = ok_json(run(
        "topups", "create", "--amount", "3", "--external-customer", "tu-user", "--meter", "calls",
        "--settlement", "external", "--json",
    ))  # fmt: skip
    assert made["status"] == "pending"
    confirmed = ok_json(
        run("topups", "confirm", made["id"], "--external-reference", "x1", "--json")
    )
    assert confirmed["status"] == "succeeded"
    again = run("topups", "confirm", made["id"])
    assert again.exit_code == 1 and "topup_succeeded" in again.output
    shown = ok_json(run("topups", "list", "--customer", customer.id, "--json"))
    assert [t["id"] for t in shown] == [made["id"]]
    deleted = run("topups", "rules", "delete", rule["id"])
    assert deleted.exit_code == 0, deleted.output
