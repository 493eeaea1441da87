"""Polar-dialect webhook endpoints, made with Polar's official SDK; deliveries verify with
``polar_sdk.webhooks.validate_event`` (Polar's key derivation) and with the standardwebhooks
library (the spec's), because both signatures are sent."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from polar_sdk import Polar, models
from polar_sdk.webhooks import WebhookUnknownTypeError, validate_event
from standardwebhooks import Webhook

from drawdown.clock import SystemClock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.dialects.polar import webhooks as _polar_payloads  # noqa: F401 (renderer)
from drawdown.webhooks.worker import Deliverer
from tests.dialects.polar.conftest import LiveServer, PolarKey
from tests.webhooks.conftest import drain
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def deliverer(database: Database) -> Iterator[Deliverer]:
    settings = Settings(database_url=database.url, webhook_allow_private=True)
    worker = Deliverer(database, SystemClock(), settings, rng=random.Random(3))
    yield worker
    worker.close()


def test_polar_sdk_endpoints_and_validate_event(
    live_server: LiveServer, polar_key: PolarKey, receiver: Receiver, deliverer: Deliverer
) -> None:
    with Polar(access_token=polar_key.secret, server_url=live_server.polar_url) as polar:
        created = polar.webhooks.create_webhook_endpoint(
            request={
                "url": receiver.url("/polar"),
                "format": "raw",
                "events": ["customer.created", "customer.updated"],
            }
        )
        assert isinstance(created, models.WebhookEndpoint)
        assert created.organization_id == str(polar_key.tenant.organization_id)
        assert created.events == [
            models.WebhookEventType.CUSTOMER_CREATED,
            models.WebhookEventType.CUSTOMER_UPDATED,
        ]
        secret = created.secret
        assert polar.webhooks.get_webhook_endpoint(id=created.id).url == receiver.url("/polar")
        listed = polar.webhooks.list_webhook_endpoints()
        assert [e.id for e in listed.result.items] == [created.id]

        customer = polar.customers.create(
            request={"email": "hook@example.com", "external_id": "polar-hook", "name": "H"}
        )
        polar.customers.update(id=customer.id, customer_update={"name": "H2"})
        drain(deliverer)

        got = sorted(receiver.at("/polar") + receiver.unverified, key=lambda d: d.webhook_id)
        assert [d.type for d in got] == ["customer.created", "customer.updated"]
        for delivery in got:
            assert len(delivery.signatures) == 2  # the spec's key and Polar's
            payload = validate_event(delivery.body, delivery.headers, secret)
            assert payload.data.id == customer.id  # Polar's Customer shape
            Webhook(secret).verify(delivery.body, delivery.headers)
        assert got[1].payload["data"]["name"] == "H2"

        rotated = polar.webhooks.reset_webhook_endpoint_secret(id=created.id)
        assert rotated.secret != secret
        polar.webhooks.update_webhook_endpoint(
            id=created.id, webhook_endpoint_update={"events": ["customer.deleted"]}
        )
        polar.webhooks.delete_webhook_endpoint(id=created.id)
        assert polar.webhooks.list_webhook_endpoints().result.items == []


def test_validate_event_verifies_before_refusing_types_polar_lacks(
    live_server: LiveServer, polar_key: PolarKey, receiver: Receiver, deliverer: Deliverer
) -> None:
    """A drawdown-only type still verifies with Polar's SDK: it raises only the 'unknown
    type' error, which it raises after the signature check."""
    with Polar(access_token=polar_key.secret, server_url=live_server.polar_url) as polar:
        created = polar.webhooks.create_webhook_endpoint(
            request={"url": receiver.url("/t"), "format": "raw", "events": ["customer.created"]}
        )
    headers = {"Authorization": f"Bearer {polar_key.secret}"}
    native_id = "whe_" + created.id.replace("-", "")
    sent = httpx.post(f"{live_server.url}/v1/webhooks/endpoints/{native_id}/test", headers=headers)
    assert sent.status_code == 202, sent.text
    drain(deliverer)
    (delivery,) = receiver.unverified  # the receiver route has no secret: checked here
    with pytest.raises(WebhookUnknownTypeError):
        validate_event(delivery.body, delivery.headers, created.secret)
    bad: Any = dict(delivery.headers, **{"webhook-signature": "v1,AAAA"})
    with pytest.raises(Exception, match=r"(?i)signature"):
        validate_event(delivery.body, bad, created.secret)
