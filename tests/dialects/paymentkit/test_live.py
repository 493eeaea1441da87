"""The guide against a real server process over TCP (uvicorn on 127.0.0.1), the way a
Payment Kit integration would call it: Bearer key, livemode on every request, JSON bodies."""

from __future__ import annotations

import time
from typing import Any

import httpx

# The live-server harness of the Polar dialect's tests: one uvicorn process per backend.
from tests.dialects.polar.conftest import _live_servers, live_server, polar_key

__all__ = ["_live_servers", "live_server", "polar_key"]


def test_guide_on_a_live_server(live_server: Any, polar_key: Any) -> None:
    headers = {"Authorization": f"Bearer {polar_key.secret}"}
    params = {"livemode": "false"}  # what payment-js adds to every call in test mode
    with httpx.Client(base_url=live_server.url + "/paymentkit/api", headers=headers) as http:

        def call(method: str, path: str, query: dict[str, Any] | None = None, **kwargs: Any) -> Any:
            response = http.request(method, path, params={**params, **(query or {})}, **kwargs)
            assert response.status_code == 200, response.text
            return response.json()

        meter = call(
            "POST",
            "/meters",
            json={"name": "API Calls", "event_name": "api.calls.invoked", "unit": "calls"},
        )
        grant = call(
            "POST",
            "/credit-grants",
            json={
                "customer_id": "did:live:user",
                "amount": "1000",
                "currency_id": meter["currency_id"],
                "category": "promotional",
                "name": "New user bonus credits",
                "expires_at": int(time.time()) + 30 * 24 * 3600,
            },
        )
        event = call(
            "POST",
            "/meter-events",
            json={
                "event_name": "api.calls.invoked",
                "payload": {"customer_id": "did:live:user", "value": "10"},
                "identifier": "live-1",
                "timestamp": int(time.time()),
            },
        )
        assert event["status"] == "completed" and event["credit_consumed"] == "1000"
        summary = call("GET", "/credit-grants/summary", query={"customer_id": "did:live:user"})
        assert summary[meter["currency_id"]]["remainingAmount"] == "99000"
        txs = call(
            "GET",
            "/credit-transactions",
            query={"customer_id": grant["customer_id"], "page": 1, "pageSize": 10},
        )
        assert txs["count"] == 1 and txs["list"][0]["credit_grant_id"] == grant["id"]
        wrong_mode = http.get("/meters", params={"livemode": "true"})
        assert wrong_mode.status_code == 400
        assert wrong_mode.json()["code"] == "livemode_mismatch"
