"""The metering flow with Polar's 1.x Python SDK (``from polar.v2026_10 import Polar``),
which sends ``Polar-Version``. Run by test_python_sdk_v1.py in a subprocess whose path has
that SDK (it cannot share a virtualenv with polar-sdk 0.32, the same distribution):

    python polar_v1_flow.py <server_url> <access_token>

It asserts what the SDK returns and exits non-zero on the first difference."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from polar.v2026_10 import Polar
from polar.v2026_10.errors import HTTPValidationError, ResourceNotFound


def main(base_url: str, token: str) -> None:
    polar = Polar(token, base_url=base_url)
    meter = polar.meters.create(
        name="API usage",
        filter={
            "conjunction": "and",
            "clauses": [{"property": "name", "operator": "eq", "value": "api_usage"}],
        },
        aggregation={"func": "sum", "property": "units"},
    )
    customer = polar.customers.create(
        email="user@example.com", name="John Doe", external_id="user_123"
    )
    granted = polar.events.ingest(
        events=[
            {"name": "api_usage", "external_customer_id": "user_123", "metadata": {"units": -10}}
        ]
    )
    assert (granted.inserted, granted.duplicates) == (1, 0), granted
    used = polar.events.ingest(
        events=[
            {
                "name": "api_usage",
                "external_customer_id": "user_123",
                "external_id": "r1",
                "metadata": {"units": 3},
            },
            {
                "name": "api_usage",
                "external_customer_id": "user_123",
                "external_id": "r1",
                "metadata": {"units": 3},
            },
        ]
    )
    assert (used.inserted, used.duplicates) == (1, 1), used

    listed = polar.customer_meters.list(external_customer_id="user_123")
    item = listed.items[0]
    assert (item.consumed_units, item.credited_units, item.balance) == (-7, 0, 7), item
    assert item.meter_id == meter.id and item.customer_id == customer.id
    state = polar.customers.get_state_external("user_123")
    assert [(m.meter_id, m.balance) for m in state.active_meters] == [(meter.id, 7)], state

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    quantities = polar.meters.quantities(
        meter.id, start_timestamp=today - timedelta(days=1), end_timestamp=today, interval="day"
    )
    assert [q.quantity for q in quantities.quantities] == [0, -7], quantities
    assert polar.events.list(external_customer_id="user_123").pagination.total_count == 2

    try:
        polar.customers.create(email="other@example.com", external_id="user_123")
    except HTTPValidationError as exc:
        assert exc.status_code == 422
    else:
        raise AssertionError("a duplicate external_id was accepted")
    try:
        polar.customers.get_external("nobody")
    except ResourceNotFound as exc:
        assert exc.status_code == 404
    else:
        raise AssertionError("an unknown customer was found")
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
