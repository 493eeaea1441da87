"""Holds in the dashboard, in headless Chromium against a live ``drawdown serve`` (both
databases): the customer page's Held card and active holds table, Release through the
API's service, and the overview's Active holds card. Holds are placed with the SDK."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import drawdown
from drawdown.db.engine import Database
from tests.dashboard.conftest import ARTIFACTS, new_key
from tests.dashboard.test_browser import sign_in

pytestmark = pytest.mark.browser


def _seed(client: drawdown.Client, external_id: str) -> Any:
    credits = client.currencies.create(name="Hold credits", symbol="hc", decimals=2)
    client.meters.create(
        name="Renders",
        event_name="renders",
        aggregation={"func": "sum", "property": "units"},
        currency_id=credits.id,
    )
    customer = client.customers.create(external_id=external_id, email="h@example.com")
    client.credit_grants.create(customer_id=customer.id, currency_id=credits.id, amount="10")
    return customer


def _holds_card(page: Any) -> str:
    return str(page.locator("article.card", has_text="Active holds").locator("strong").inner_text())


def test_held_card_holds_table_and_release(
    browser_page: Any, database: Database, live_url: str
) -> None:
    page = browser_page
    key = new_key(database)
    sign_in(page, key.secret)
    assert _holds_card(page) == "0"
    with drawdown.Client(key.secret, base_url=live_url) as client:
        customer = _seed(client, f"holder-{uuid.uuid4().hex[:8]}")
        big = client.holds.create(
            customer_id=customer.id,
            meter_id="renders",
            amount="4",
            timeout_s=600,
            metadata={"job": "render-1"},
        )
        small = client.holds.create(
            customer_id=customer.id, meter_id="renders", amount="1.5", timeout_s=60
        )

        page.goto(f"/dashboard/customers/{customer.id}")
        assert page.locator('[data-balance="held"]').inner_text() == "5.50"
        assert page.locator('[data-balance="available"]').inner_text() == "4.50"
        rows = page.locator("#holds tr[data-hold]")
        assert rows.count() == 2
        row = page.locator(f'#holds tr[data-hold="{big.id}"]')
        assert row.locator("[data-hold-amount]").inner_text() == "4.00 hc"
        assert row.locator("[data-hold-metadata]").inner_text() == '{"job": "render-1"}'
        expires = big.expires_at.strftime("%Y-%m-%d %H:%M")
        assert expires in row.locator("[data-hold-expires]").inner_text()
        small_row = page.locator(f'#holds tr[data-hold="{small.id}"]')
        assert small_row.locator("[data-hold-metadata]").count() == 0
        backend = "sqlite" if database.is_sqlite else "postgresql"
        page.screenshot(path=str(ARTIFACTS / f"{backend}-holds-customer.png"), full_page=True)

        page.goto("/dashboard")
        assert _holds_card(page) == "2"

        # Release (confirming the dialog): the API's service books it, the page refreshes.
        page.goto(f"/dashboard/customers/{customer.id}")
        page.once("dialog", lambda dialog: dialog.accept())
        row = page.locator(f'#holds tr[data-hold="{big.id}"]')
        row.get_by_role("button", name="Release").click()
        page.wait_for_function("document.querySelectorAll('#holds tr[data-hold]').length === 1")
        assert page.locator('[data-balance="held"]').inner_text() == "1.50"
        assert page.locator('[data-balance="available"]').inner_text() == "8.50"
        assert client.holds.get(big.id).status == "released"
        assert client.holds.get(small.id).status == "active"
        balance = client.balances.list(customer_id=customer.id)[0]
        assert (str(balance.available), str(balance.held)) == ("8.50", "1.50")

        page.goto("/dashboard")
        assert _holds_card(page) == "1"
