"""Holds through the SDK against a real server process, on both databases: the ``with``
block (captured, released on an exception, 402 before any work), the async twin, and a
capture whose response is lost and retried with the same Idempotency-Key."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

import drawdown
from tests.sdk.conftest import Run, ok_json


def _setup(client: drawdown.Client, credits: str = "10") -> drawdown.Customer:
    currency = client.currencies.create(name="Credits", symbol="cr", decimals=3)
    client.meters.create(
        name="LLM tokens",
        event_name="llm_tokens",
        aggregation={"func": "sum", "property": "tokens"},
        currency_id=currency.id,
        rate="0.002",
    )
    customer = client.customers.create(external_id="llm-user")
    client.credit_grants.create(customer_id=customer.id, currency_id=currency.id, amount=credits)
    return customer


def _balance(client: drawdown.Client, customer: drawdown.Customer) -> tuple[Decimal, Decimal]:
    balance = client.balances.list(customer_id=customer.id)[0]
    return balance.available, balance.held


def test_reserve_then_capture_the_actual_cost(client: drawdown.Client) -> None:
    customer = _setup(client)
    with client.holds.reserve(customer, amount="4", meter_id="llm_tokens", timeout_s=60) as hold:
        assert hold.hold.status == "active" and hold.amount == Decimal("4")
        assert _balance(client, customer) == (Decimal("6"), Decimal("4"))
        access = client.access.check("llm_tokens", customer_id=customer.id)
        assert access.held == Decimal("4") and access.has_access
        captured = hold.capture("2.5", event={"name": "llm_tokens", "properties": {"tokens": 1250}})
    assert (captured.status, captured.captured_amount) == ("captured", Decimal("2.5"))
    assert _balance(client, customer) == (Decimal("7.5"), Decimal("0"))
    # The event took the hold's id as its identifier: one usage event per hold.
    event = client.events.get(captured.event_id or "")
    assert event.identifier == captured.id
    assert client.holds.get(captured.id).status == "captured"
    assert [h.id for h in client.holds.list_all(customer_id=customer.id)] == [captured.id]


def test_an_exception_releases_the_hold(client: drawdown.Client) -> None:
    customer = _setup(client)
    with (
        pytest.raises(RuntimeError, match="model timed out"),
        client.holds.reserve(customer, amount="3", meter_id="llm_tokens") as hold,
    ):
        raise RuntimeError("model timed out")
    released = client.holds.get(hold.id)
    assert (released.status, released.reason) == ("released", "exception: RuntimeError")
    assert _balance(client, customer) == (Decimal("10"), Decimal("0"))
    # Leaving the block without capturing releases it too.
    with client.holds.reserve(customer, amount="3", meter_id="llm_tokens") as idle:
        pass
    assert client.holds.get(idle.id).status == "released"


def test_short_balance_raises_before_any_work(client: drawdown.Client) -> None:
    customer = _setup(client, credits="1")
    ran = False
    with (
        pytest.raises(drawdown.InsufficientCreditsError) as caught,
        client.holds.reserve(customer, amount="5", meter_id="llm_tokens"),
    ):
        ran = True
    assert not ran and caught.value.status == 402 and caught.value.code == "insufficient_credits"
    assert (caught.value.available, caught.value.requested) == (Decimal("1"), Decimal("5"))
    partial = client.holds.create(
        customer_id=customer.id, meter_id="llm_tokens", amount="5", min_amount="0.5"
    )
    assert (partial.amount, partial.requested) == (Decimal("1"), Decimal("5"))
    with pytest.raises(drawdown.ConflictError) as conflict:
        client.holds.release(partial.id)
        client.holds.release(partial.id)
    assert conflict.value.code == "hold_already_released"


def test_async_twin(live_url: str, api_key: str, client: drawdown.Client) -> None:
    customer = _setup(client)

    async def scenario() -> Any:
        async with drawdown.AsyncClient(api_key, base_url=live_url, backoff_s=0.05) as sdk:
            async with sdk.holds.reserve(customer.id, amount="2", meter_id="llm_tokens") as hold:
                done = await hold.capture(
                    event={"name": "llm_tokens", "properties": {"tokens": 500}}
                )
            with pytest.raises(ValueError, match="boom"):
                async with sdk.holds.reserve(customer.id, amount="2", meter_id="llm_tokens") as h:
                    raise ValueError("boom")
            return done, await sdk.holds.get(h.id)

    done, failed = asyncio.run(scenario())
    assert (done.status, done.captured_amount) == ("captured", Decimal("1"))
    assert failed.status == "released"
    assert _balance(client, customer) == (Decimal("9"), Decimal("0"))


class LoseFirstCaptureResponse(httpx.HTTPTransport):
    """Sends every request to the server; the first capture's response is dropped after
    the server answered it, as a reset connection would."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/capture") and not self.lost:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadError("connection reset before the response arrived", request=request)
        return response


def test_a_lost_capture_response_retried_is_booked_once(
    live_url: str, api_key: str, client: drawdown.Client
) -> None:
    customer = _setup(client)
    transport = LoseFirstCaptureResponse()
    with (
        httpx.Client(transport=transport) as http,
        drawdown.Client(api_key, base_url=live_url, backoff_s=0.05, http_client=http) as flaky,
        flaky.holds.reserve(customer, amount="4", meter_id="llm_tokens") as hold,
    ):
        captured = hold.capture(event={"name": "llm_tokens", "properties": {"tokens": 1000}})
    assert transport.lost == 1 and captured.status == "captured"
    entries = client.credit_transactions.list(event_id=captured.event_id).data
    assert [(e.type, e.amount) for e in entries] == [("consumption", Decimal("-2"))]
    assert _balance(client, customer) == (Decimal("8"), Decimal("0"))


def test_cli_holds(client: drawdown.Client, run: Run) -> None:
    customer = _setup(client)
    created = ok_json(
        run("holds", "create", "--customer", customer.id, "--meter", "llm_tokens",
            "--amount", "3", "--timeout-s", "120", "--json")
    )  # fmt: skip
    assert (created["status"], created["amount"], created["timeout_s"]) == ("active", "3.000", 120)
    listed = ok_json(
        run("holds", "list", "--customer", customer.id, "--status", "active", "--json")
    )
    assert [h["id"] for h in listed] == [created["id"]]
    captured = ok_json(
        run("holds", "capture", created["id"], "--name", "llm_tokens",
            "--properties", '{"tokens": 1000}', "--json")
    )  # fmt: skip
    assert (captured["status"], captured["captured_amount"]) == ("captured", "2.000")
    assert ok_json(run("holds", "get", created["id"], "--json"))["status"] == "captured"
    again = run("holds", "release", created["id"])
    assert again.exit_code != 0 and "hold_already_captured" in again.stderr
    short = run("holds", "create", "--customer", customer.id, "--meter", "llm_tokens",
                "--amount", "100")  # fmt: skip
    assert short.exit_code != 0 and "insufficient_credits" in short.stderr
    released = ok_json(
        run("holds", "create", "--customer", customer.id, "--meter", "llm_tokens",
            "--amount", "1", "--json")
    )  # fmt: skip
    out = ok_json(run("holds", "release", released["id"], "--reason", "cancelled", "--json"))
    assert (out["status"], out["reason"]) == ("released", "cancelled")


def test_the_holds_doc_example_runs(live_url: str, api_key: str, tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "holds.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    env = {**os.environ, "DRAWDOWN_API_KEY": api_key, "DRAWDOWN_BASE_URL": live_url}
    result = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == [
        "captured 1.900",
        "8.100 0.000",
        "released",
        "8.100 50.000",
    ]
