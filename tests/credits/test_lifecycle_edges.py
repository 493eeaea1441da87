"""The credit lifecycle's edges: the expiry grace (late events still draw
expired credits) and deleting a customer (grants voided, holds released)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from drawdown.config import SettingsError, load_settings
from drawdown.credits.clock import sweep_once
from tests.credits.conftest import Setup
from tests.credits.test_grants import iso
from tests.helpers import ingest


def usage(identifier: str, units: float, at: Any, customer: str = "c1") -> dict[str, Any]:
    return {
        "identifier": identifier,
        "name": "api_calls",
        "external_customer_id": customer,
        "timestamp": iso(at),
        "properties": {"units": units},
    }


def entries(api: Any, **params: str) -> list[tuple[str, str, str | None]]:
    data = api.ok("GET", "/v1/credit-transactions", params=params)["data"]
    return [(e["type"], e["amount"], e["reason"]) for e in reversed(data)]


def test_late_event_draws_the_grant_live_when_it_happened(
    api: Any, setup: Setup, clock: Any, database: Any, ledger_checked: None
) -> None:
    start = clock.now()
    promo = setup.grant("5", category="promotional", expires_at=iso(start + timedelta(hours=2)))
    paid = setup.grant("10", priority=60)
    clock.advance(timedelta(hours=2, minutes=10))  # promo expired 10 minutes ago
    # Reads: expired from expires_at on, so only the paid credits are available.
    assert api.ok("GET", f"/v1/credit-grants/{promo['id']}")["status"] == "expired"
    assert setup.available() == "10.00"
    # Usage from 5 minutes before the expiry, reported now: the promo pays for it.
    ingest(api, usage("late", 3, start + timedelta(hours=1, minutes=55)))
    assert setup.available() == "10.00"  # no available balance moved backwards
    assert api.ok("GET", f"/v1/credit-grants/{paid['id']}")["remaining"] == "10.00"
    # Usage stamped after the expiry does not touch it.
    ingest(api, usage("after", 1, start + timedelta(hours=2, minutes=1)))
    assert setup.available() == "9.00"
    # The clock books the expiration of what is left (2.00) one hour after expires_at.
    assert sweep_once(database, clock.now()) == 0
    clock.advance(timedelta(minutes=50))
    assert sweep_once(database, clock.now()) == 1
    assert entries(api, grant_id=promo["id"]) == [
        ("grant", "5.00", None),
        ("consumption", "-3.00", None),
        ("expiration", "-2.00", None),
    ]
    # After the grace a late event stamped before expires_at goes to what is live now.
    ingest(api, usage("later", 1, start + timedelta(hours=1)))
    assert setup.available() == "8.00"


def test_late_event_beyond_the_grant_still_goes_to_live_grants_then_debt(
    api: Any, setup: Setup, clock: Any, ledger_checked: None
) -> None:
    start = clock.now()
    setup.grant("2", expires_at=iso(start + timedelta(hours=1)))
    clock.advance(timedelta(hours=1, minutes=30))
    ingest(api, usage("late", 5, start + timedelta(minutes=30)))
    balance = setup.balance()
    assert (balance["available"], balance["debt"]) == ("0.00", "3.00")
    # A grant voided or expired while it is in its grace reads as expired: 409.
    grants = api.ok("GET", "/v1/credit-grants")["data"]
    response = api.post(f"/v1/credit-grants/{grants[0]['id']}/void")
    assert response.status_code == 409 and response.json()["code"] == "grant_closed"


def test_grace_is_a_setting_bounded_by_the_late_event_window(
    make_api: Any, database: Any, clock: Any
) -> None:
    assert load_settings().expiry_grace_s == 3600
    assert load_settings(expiry_grace_s=0).expiry_grace == timedelta(0)
    with pytest.raises(SettingsError, match="expiry_grace_s"):
        load_settings(expiry_grace_s=7200, max_event_age_s=3600)


def test_no_grace_books_the_expiration_at_expires_at(
    database: Any, clock: Any, ledger_checked: None
) -> None:
    from fastapi.testclient import TestClient

    from drawdown.app import create_app
    from drawdown.config import Settings
    from drawdown.keys import service as keys
    from drawdown.tenancy import Tenant
    from tests.conftest import Api

    settings = Settings(database_url=database.url, run_clock_in_server=False, expiry_grace_s=0)
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        with database.write() as conn:
            org = keys.create_organization(conn, "no grace")
            created = keys.create_key(conn, Tenant(org, "test"), "full")
        api = Api(client, created.secret, created.tenant)
        setup = Setup(api, database)
        start = clock.now()
        setup.grant("5", expires_at=iso(start + timedelta(hours=1)))
        setup.grant("10", priority=60)
        clock.advance(timedelta(hours=1, minutes=1))
        ingest(api, usage("late", 3, start + timedelta(minutes=30)))
        assert setup.available() == "7.00"  # the late event paid from the live grant


def test_deleting_a_customer_voids_its_grants_and_keeps_history(
    api: Any, setup: Setup, clock: Any, database: Any, ledger_checked: None
) -> None:
    start = clock.now()
    used = setup.grant("10")
    future = setup.grant("4", effective_at=iso(start + timedelta(days=1)))
    ingest(api, usage("u1", 2, start))
    customer_id = setup.customer["id"]
    api.ok("DELETE", f"/v1/customers/{customer_id}", 204)
    assert entries(api, grant_id=used["id"]) == [
        ("grant", "10.00", None),
        ("consumption", "-2.00", None),
        ("void", "-8.00", "customer_deleted"),
    ]
    assert api.ok("GET", f"/v1/credit-grants/{used['id']}")["status"] == "voided"
    assert api.ok("GET", f"/v1/credit-grants/{future['id']}")["status"] == "voided"
    assert entries(api, grant_id=future["id"]) == []  # never booked: no entries
    # History stays: its ledger and events are still there.
    assert (
        len(api.ok("GET", "/v1/credit-transactions", params={"customer_id": customer_id})["data"])
        == 3
    )
    assert api.ok("GET", "/v1/events")["data"][0]["customer_id"] == customer_id
    # The clock has nothing left to do for it.
    clock.advance(timedelta(days=2))
    assert sweep_once(database, clock.now()) == 0
    # Its external_id is free: an event for it waits unclaimed, then goes to a new customer.
    ingest(api, usage("u2", 1, clock.now()))
    assert (
        api.ok("GET", "/v1/events", params={"external_customer_id": "c1"})["data"][0]["customer_id"]
        is None
    )
    again = api.ok("POST", "/v1/customers", 201, json={"external_id": "c1"})
    assert again["id"] != customer_id
    balance = api.ok("GET", f"/v1/customers/{again['id']}/balances")["data"][0]
    assert balance["debt"] == "1.00"


def test_deleting_through_the_polar_dialect_voids_too(
    api: Any, setup: Setup, ledger_checked: None
) -> None:
    grant = setup.grant("3")
    api.ok("DELETE", "/polar/v1/customers/external/c1", 204)
    assert api.ok("GET", f"/v1/credit-grants/{grant['id']}")["status"] == "voided"
