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
        self.currency, self.meter = _TEMP_sql_meter(api, database)

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


def _TEMP_sql_meter(api: Any, database: Any) -> Any:
    from drawdown.clock import utcnow
    from drawdown.db.tables import currencies, meters
    from drawdown.ids import new_id, render_id

    t = api.tenant
    cur, mtr = new_id(), new_id()
    with database.write() as conn:
        conn.execute(
            currencies.insert().values(
                id=cur,
                organization_id=t.organization_id,
                mode=t.mode,
                name="Credits",
                symbol="cr",
                decimals=2,
                created_at=utcnow(),
            )
        )
        conn.execute(
            meters.insert().values(
                id=mtr,
                organization_id=t.organization_id,
                mode=t.mode,
                name="API calls",
                event_name="api_calls",
                filter=None,
                aggregation_func="sum",
                aggregation_property="units",
                unit="calls",
                description="",
                metadata_={},
                currency_id=cur,
                rate="1",
                status="active",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    return {"id": render_id("currency", cur)}, {"id": render_id("meter", mtr)}
