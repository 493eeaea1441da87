"""The SDK in-process: the sync client over Starlette's TestClient, the async client over
httpx.ASGITransport, both on the ``app`` fixture (both databases)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import drawdown


def test_sync_client_in_process(api: Any) -> None:
    with drawdown.Client(
        api.secret, base_url="http://testserver", http_client=api.client
    ) as client:
        created = client.customers.create(external_id="in-proc", name="In")
        assert client.customers.get_by_external_id("in-proc") == created
        assert [c.id for c in client.customers.list_all()] == [created.id]
        with pytest.raises(drawdown.ValidationFailedError) as caught:
            client.customers.update(created.id, external_id="changed")
        assert caught.value.errors[0].loc == ("body", "external_id")


def test_async_client_in_process(app: Any, api: Any) -> None:
    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            drawdown.AsyncClient(
                api.secret, base_url="http://testserver", http_client=http
            ) as client,
        ):
            made = [await client.customers.create(name=f"N{i}") for i in range(5)]
            listed = [c.id async for c in client.customers.list_all(limit=2)]
            assert listed == [c.id for c in reversed(made)]
            await client.customers.delete(made[0].id)
            with pytest.raises(drawdown.NotFoundError):
                await client.customers.get(made[0].id)

    asyncio.run(scenario())
