from __future__ import annotations

from typing import Any

import pytest

from tests.credits.invariants import check_ledger


@pytest.fixture
def ledger_checked(database: Any) -> Any:
    """Use in a test to check the rule-12 invariants once it is done."""
    yield
    check_ledger(database)


class Setup:
    """A customer and a meter on `api_calls` (sum of `units`, rate 1, 2-decimal currency)."""

    def __init__(self, api: Any, database: Any) -> None:
        self.api = api
        self.customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "c1"})
        self.currency = api.ok(
            "POST", "/v1/currencies", 201, json={"name": "Credits", "symbol": "cr", "decimals": 2}
        )
        self.meter = api.ok(
            "POST",
            "/v1/meters",
            201,
            json={
                "name": "API calls",
                "event_name": "api_calls",
                "aggregation": {"func": "sum", "property": "units"},
                "currency_id": self.currency["id"],
            },
        )

    def grant(self, amount: str, status: int = 201, **extra: Any) -> Any:
        body = {
            "customer_id": self.customer["id"],
            "currency_id": self.currency["id"],
            "amount": amount,
        }
        return self.api.ok("POST", "/v1/credit-grants", status, json={**body, **extra})

    def balance(self) -> dict[str, str]:
        data = self.api.ok("GET", f"/v1/customers/{self.customer['id']}/balances")["data"]
        return {"available": "0.00", "debt": "0.00", "pending": "0.00"} if not data else data[0]

    def available(self) -> str:
        return self.balance()["available"]


@pytest.fixture
def setup(api: Any, database: Any) -> Setup:
    return Setup(api, database)
