"""The tenant a run measures: an organization and API key (made in the database, as
``drawdown keys create`` would), then customers, a currency, 3 meters and grants created
through the API. Endpoints that are not on this build yet are skipped and reported."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bench.data import METERS, MeterSpec, customer_external_id, grant_bodies
from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant

__all__ = [
    "TenantFixture",
    "create_customers",
    "create_meter",
    "make_key",
    "meter_body",
    "place_holds",
    "populate",
]

HOLDS_EACH = 3  # active holds on each customer of the access-with-holds target


def make_key(url: str, name: str) -> tuple[uuid.UUID, str]:
    """A new organization and a full-scope test-mode key: (organization id, secret)."""
    database = Database(url)
    with database.write() as conn:
        org = keys.create_organization(conn, name)
        created = keys.create_key(conn, Tenant(org, "test"), "full", name="bench")
    database.dispose()
    return org, created.secret


@dataclass
class TenantFixture:
    organization_id: uuid.UUID
    secret: str
    customer_ids: list[str] = field(default_factory=list)  # cus_..., by index
    currency_id: str | None = None
    meter_ids: dict[str, str] = field(default_factory=dict)  # event_name -> mtr_...
    grants: int = 0
    missing: list[str] = field(default_factory=list)
    access_urls: list[str] = field(default_factory=list)  # set by the reads section
    held_customer_ids: list[str] = field(default_factory=list)  # each with HOLDS_EACH holds

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", "Content-Type": "application/json"}


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"POST {path} -> {response.status_code}: {response.text[:500]}")
    result: dict[str, Any] = response.json()
    return result


def populate(
    base_url: str, fixture: TenantFixture, customers: int, paths: set[str], now: datetime
) -> None:
    """Customers, then (when this build has the endpoints) a currency, the 3 meters and
    grants of mixed priority and expiry; notes what it had to leave out."""
    with httpx.Client(base_url=base_url, headers=fixture.headers, timeout=60) as client:
        fixture.customer_ids = create_customers(client, customers)
        if "/v1/currencies" not in paths or "/v1/meters" not in paths:
            fixture.missing.append("currencies/meters API")
            return
        currency = {"name": "Bench credits", "symbol": "BC", "decimals": 6}
        fixture.currency_id = str(_post(client, "/v1/currencies", currency)["id"])
        for meter in METERS:
            body = meter_body(meter, fixture.currency_id)
            fixture.meter_ids[meter.event_name] = str(_post(client, "/v1/meters", body)["id"])
        if "/v1/credit-grants" not in paths:
            fixture.missing.append("credit grants API")
            return
        bodies = grant_bodies(customers, fixture.currency_id, now)
        with ThreadPoolExecutor(4) as pool:
            done = pool.map(lambda body: _post(client, "/v1/credit-grants", body), bodies)
            fixture.grants = len(list(done))


def place_holds(base_url: str, fixture: TenantFixture, customers: int) -> None:
    """Customers of their own (so every other figure keeps its fixture), each with a grant
    and HOLDS_EACH active holds that outlast the run, for the access check with holds."""
    assert fixture.currency_id is not None
    currency_id = fixture.currency_id
    with httpx.Client(base_url=base_url, headers=fixture.headers, timeout=60) as client:

        def customer(index: int) -> str:
            external_id = f"bench-held-{index:06d}"
            made = _post(client, "/v1/customers", {"external_id": external_id})
            grant = {"customer_id": made["id"], "currency_id": currency_id, "amount": "100.00"}
            _post(client, "/v1/credit-grants", grant)
            for _ in range(HOLDS_EACH):
                hold = {
                    "customer_id": made["id"],
                    "currency_id": currency_id,
                    "amount": "1.50",
                    "timeout_s": 86400,
                }
                _post(client, "/v1/holds", hold)
            return str(made["id"])

        with ThreadPoolExecutor(4) as pool:
            fixture.held_customer_ids = list(pool.map(customer, range(customers)))


def create_customers(client: httpx.Client, count: int) -> list[str]:
    def customer(index: int) -> str:
        body = {"external_id": customer_external_id(index), "name": f"Customer {index}"}
        return str(_post(client, "/v1/customers", body)["id"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(customer, range(count)))


def create_meter(client: httpx.Client, meter: MeterSpec, currency_id: str | None) -> str:
    return str(_post(client, "/v1/meters", meter_body(meter, currency_id))["id"])


def meter_body(meter: MeterSpec, currency_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": meter.name,
        "event_name": meter.event_name,
        "aggregation": {"func": meter.func, "property": meter.property},
        "rate": meter.rate,
    }
    if currency_id is not None:
        body["currency_id"] = currency_id
    return body
