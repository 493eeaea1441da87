"""Top-ups on the dashboard in headless Chromium against a live ``drawdown serve`` (both
databases): the overview's "Pending top-ups" card, the customer page's top-ups with
Confirm and Fail for a write key, and none of those buttons for a read key."""

from __future__ import annotations

from typing import Any

import pytest

import drawdown
from drawdown.db.engine import Database
from tests.dashboard.conftest import new_key
from tests.dashboard.test_browser import shot, sign_in

pytestmark = pytest.mark.browser


def _pending_card(page: Any) -> str:
    card = page.locator("article.card", has_text="Pending top-ups")
    return str(card.locator("strong").inner_text())


def test_confirm_and_fail_pending_top_ups(
    browser_page: Any, database: Database, live_url: str
) -> None:
    page = browser_page
    key = new_key(database)
    with drawdown.Client(key.secret, base_url=live_url) as client:
        currency = client.currencies.create(name="Dash credits", symbol="dc", decimals=2)
        customer = client.customers.create(external_id="dash-topups", email="t@example.com")
        made = [
            client.topups.create(
                customer_id=customer.id, currency_id=currency.id, amount=amount,
                settlement="external",
            )
            for amount in ("15", "4.50")
        ]  # fmt: skip
    sign_in(page, key.secret)
    assert _pending_card(page) == "2"

    page.goto(f"/dashboard/customers/{customer.id}")
    rows = page.locator("#topups tr[data-topup]")
    rows.first.wait_for()
    assert rows.count() == 2
    page.on("dialog", lambda dialog: dialog.accept())
    first = page.locator(f'tr[data-topup="{made[0].id}"]')
    first.get_by_label("Charge reference").fill("ch_dash_1")
    with page.expect_navigation():  # HX-Refresh reloads the page
        first.get_by_role("button", name="Confirm").click()
    page.locator(f'tr[data-topup="{made[0].id}"][data-status="succeeded"]').wait_for()
    assert page.locator('[data-balance="available"]').inner_text() == "15.00"
    assert page.locator(f'tr[data-topup="{made[0].id}"]').get_by_text("ch_dash_1").is_visible()

    second = page.locator(f'tr[data-topup="{made[1].id}"]')
    second.get_by_label("Failure reason").fill("card expired")
    with page.expect_navigation():
        second.get_by_role("button", name="Fail").click()
    failed = page.locator(f'tr[data-topup="{made[1].id}"][data-status="failed"]')
    failed.wait_for()
    assert failed.get_by_text("card expired").is_visible()
    assert page.locator("#topups").get_by_role("button", name="Confirm").count() == 0
    shot(page, "customer-topups")

    with drawdown.Client(key.secret, base_url=live_url) as client:
        assert client.topups.get(made[0].id).external_reference == "ch_dash_1"
        assert client.topups.get(made[1].id).failure_reason == "card expired"
    page.goto("/dashboard")
    assert _pending_card(page) == "0"


def test_a_read_key_sees_top_ups_without_buttons(
    browser_page: Any, database: Database, live_url: str
) -> None:
    page = browser_page
    full = new_key(database)
    with drawdown.Client(full.secret, base_url=live_url) as client:
        currency = client.currencies.create(name="Read credits", symbol="rd", decimals=0)
        customer = client.customers.create(external_id="dash-topups-read")
        pending = client.topups.create(
            customer_id=customer.id, currency_id=currency.id, amount=3, settlement="external"
        )
    reader = new_key(database, scope="read", organization_id=full.tenant.organization_id)
    sign_in(page, reader.secret)
    assert _pending_card(page) == "1"
    page.goto(f"/dashboard/customers/{customer.id}")
    row = page.locator(f'tr[data-topup="{pending.id}"][data-status="pending"]')
    row.wait_for()
    assert row.get_by_role("button").count() == 0
