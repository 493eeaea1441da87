"""Spaire's official Python SDK (``spaire-sdk``, a fork of Polar's with its own models,
pinned in the dev extra) runs the seed flow against the Polar dialect: customer, meter,
credits by a negative event, usage, the customer meter and state. Its response models
require ``avatar_url`` to be a string, which the dialect sends (a Gravatar address)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from spaire_sdk import Spaire, models

from tests.dialects.polar.conftest import LiveServer, PolarKey
from tests.dialects.polar.test_python_sdk import API_USAGE_METER, native_get


@pytest.fixture
def spaire(live_server: LiveServer, polar_key: PolarKey) -> Iterator[Spaire]:
    with Spaire(access_token=polar_key.secret, server_url=live_server.polar_url) as client:
        yield client


def test_the_seed_flow_with_spaire_sdk(
    spaire: Spaire, live_server: LiveServer, polar_key: PolarKey
) -> None:
    customer = spaire.customers.create(
        request={"email": "spaire@example.com", "name": "Spaire User", "external_id": "spaire_1"}
    )
    assert customer.external_id == "spaire_1"
    assert customer.avatar_url.startswith("https://www.gravatar.com/avatar/")
    assert spaire.customers.get_external(external_id="spaire_1") == customer
    meter = spaire.meters.create(request=models.MeterCreate(**API_USAGE_METER))
    assert spaire.meters.get(id=meter.id) == meter

    granted = spaire.events.ingest(
        request={
            "events": [
                {
                    "name": "api_usage",
                    "external_customer_id": "spaire_1",
                    "metadata": {"units": -10},
                }
            ]
        }
    )
    assert (granted.inserted, granted.duplicates) == (1, 0)
    used = spaire.events.ingest(
        request={
            "events": [
                {
                    "name": "api_usage",
                    "external_customer_id": "spaire_1",
                    "external_id": "spaire-req-1",
                    "metadata": {"units": 4},
                }
            ]
        }
    )
    assert (used.inserted, used.duplicates) == (1, 0)
    balance = native_get(live_server, polar_key, "/v1/customers/external/spaire_1/balances")
    assert balance["data"][0]["available"] == "6.00"

    page = spaire.customer_meters.list(external_customer_id="spaire_1")
    assert page is not None
    item = page.result.items[0]
    assert isinstance(item, models.CustomerMeter)
    assert (item.consumed_units, item.credited_units, item.balance) == (-6, 0, 6)
    state = spaire.customers.get_state_external(external_id="spaire_1")
    assert [(m.meter_id, m.balance) for m in state.active_meters] == [(item.meter_id, 6)]
