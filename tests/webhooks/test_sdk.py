"""The SDK's webhooks and alerts resources, in-process (both databases)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

import drawdown
from drawdown.webhooks.worker import Deliverer
from tests.credits.conftest import Setup
from tests.webhooks.conftest import drain
from tests.webhooks.receiver import Receiver


def test_sync_client_webhooks_and_alerts(
    api: Any, database: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    setup = Setup(api, database)
    with drawdown.Client(api.secret, base_url="http://testserver", http_client=api.client) as sdk:
        endpoint = sdk.webhooks.endpoints.create(url=receiver.url("/sdk"), description="d")
        assert endpoint.secret and endpoint.event_types == ["*"]
        receiver.route("/sdk", endpoint.secret)
        assert [e.id for e in sdk.webhooks.endpoints.list_all()] == [endpoint.id]
        updated = sdk.webhooks.endpoints.update(
            endpoint.id, event_types=["credit.balance_low", "webhook.test"]
        )
        assert updated.event_types == ["credit.balance_low", "webhook.test"]
        assert updated.secret is None

        alert = sdk.alerts.create(
            customer_id=setup.customer["id"],
            currency_id=setup.currency["id"],
            thresholds=[{"code": "low", "value": Decimal("2.50")}],
            rearm_margin="1",
        )
        assert alert.thresholds[0].value == Decimal("2.50") and alert.rearm_margin == 1
        setup.grant("5")
        event = {"identifier": "s1", "name": "api_calls", "external_customer_id": "c1",
                 "properties": {"units": 3}}  # fmt: skip
        sdk.events.ingest([event])
        sdk.webhooks.endpoints.test(endpoint.id)
        drain(deliverer)
        assert sorted(d.type for d in receiver.at("/sdk")) == ["credit.balance_low", "webhook.test"]

        (low,) = sdk.webhooks.events.list(type="credit.balance_low").data
        assert low.data["balance"] == "2.00"
        attempts = list(sdk.webhooks.deliveries.list_all(endpoint_id=endpoint.id))
        assert len(attempts) == 2 and all(a.succeeded for a in attempts)
        assert sdk.webhooks.events.redeliver(low.id).scheduled == 1
        replayed = sdk.webhooks.endpoints.replay(
            endpoint.id, since="2000-01-01T00:00:00Z", only_failed=False
        )
        assert replayed.scheduled == 2
        drain(deliverer)
        assert len(receiver.at("/sdk")) == 5

        (listed,) = sdk.alerts.list(customer_id=setup.customer["id"]).data
        assert listed.thresholds[0].state == "in_alarm"
        assert not sdk.alerts.disable(alert.id).enabled
        sdk.alerts.update(alert.id, thresholds=[{"code": "l2", "value": "1"}])
        sdk.alerts.delete(alert.id)
        with pytest.raises(drawdown.NotFoundError):
            sdk.alerts.get(alert.id)
        rotated = sdk.webhooks.endpoints.rotate_secret(endpoint.id, grace_period_seconds=0)
        assert rotated.secret != endpoint.secret
        sdk.webhooks.endpoints.delete(endpoint.id)
        with pytest.raises(drawdown.NotFoundError):
            sdk.webhooks.endpoints.get(endpoint.id)
        with pytest.raises(drawdown.ValidationFailedError) as caught:
            sdk.webhooks.endpoints.create(url="ftp://x", event_types=["*"])
        assert caught.value.errors[0].loc == ("body", "url")


def test_async_client_webhooks(app: Any, api: Any) -> None:
    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            drawdown.AsyncClient(api.secret, base_url="http://testserver", http_client=http) as sdk,
        ):
            made = await sdk.webhooks.endpoints.create(url="http://127.0.0.1:9/x")
            assert [e.id async for e in sdk.webhooks.endpoints.list_all()] == [made.id]
            await sdk.customers.create(external_id="async-wh")
            types = [e.type async for e in sdk.webhooks.events.list_all()]
            assert types == ["customer.created"]
            assert (await sdk.alerts.list()).data == []

    asyncio.run(scenario())
