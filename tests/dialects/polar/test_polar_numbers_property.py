"""Property test: for random sequences of usage and negative (granting) events, with or
without credits granted through the native API, and a customer created before or after
its events, the Polar dialect's customer meter reports what Polar's own formula gives:
consumed = the sum of the events, credited = the credits granted, balance = credited -
consumed; and the ledger behind it agrees."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drawdown.clock import ManualClock
from tests.dialects.polar.test_meters_events_wire import make_meter

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)

# Amounts in cents: the meter's currency has 2 decimal places, so no rounding happens.
amounts = st.integers(-5000, 5000).map(lambda cents: Decimal(cents) / 100)
batches = st.lists(st.lists(amounts, min_size=1, max_size=5), min_size=1, max_size=5)


@given(
    batches=batches,
    granted=st.sampled_from([0, 25, 1000]),
    customer_first=st.booleans(),
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_customer_meter_follows_polars_formula(
    make_api: Any,
    clock: ManualClock,
    batches: list[list[Decimal]],
    granted: int,
    customer_first: bool,
) -> None:
    clock.set(NOW)
    api = make_api()  # a fresh organization per example
    meter = make_meter(api)

    def create_customer() -> None:
        api.ok(
            "POST", "/polar/v1/customers/", 201, json={"email": "p@example.com", "external_id": "p"}
        )
        if granted:
            grant = {"external_customer_id": "p", "meter_id": "api_usage", "amount": str(granted)}
            api.ok("POST", "/v1/credit-grants", 201, json=grant)

    if customer_first:
        create_customer()
    for batch in batches:
        events = [
            {"name": "api_usage", "external_customer_id": "p", "metadata": {"units": float(value)}}
            for value in batch
        ]
        api.ok("POST", "/polar/v1/events/ingest", json={"events": events})
    if not customer_first:
        create_customer()

    consumed = sum((value for batch in batches for value in batch), Decimal(0))
    items = api.ok("GET", "/polar/v1/customer-meters/?external_customer_id=p")["items"]
    assert len(items) == 1
    item = items[0]
    # Polar's numbers, whichever came first: when the customer comes after its events,
    # they are drawn down at its creation and the grant then pays their debt (debt is paid first).
    assert (item["consumed_units"], item["credited_units"], item["balance"]) == (
        float(consumed),
        granted,
        float(granted - consumed),
    )
    # No credit movement at all (only zero usage) leaves no account: a balance of 0.
    accounts = api.ok("GET", "/v1/customers/external/p/balances")["data"]
    ledger = sum((Decimal(b["available"]) - Decimal(b["debt"]) for b in accounts), Decimal(0))
    assert ledger == granted - consumed
    day = api.ok(
        "GET",
        f"/polar/v1/meters/{meter['id']}/quantities",
        params={
            "start_timestamp": NOW.isoformat(),
            "end_timestamp": NOW.isoformat(),
            "interval": "day",
        },
    )
    assert day["total"] == float(consumed)
