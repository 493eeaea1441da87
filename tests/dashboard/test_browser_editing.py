"""Editing from the detail pages in headless Chromium against a live ``drawdown serve``
(both databases): a customer and a meter changed through their Edit dialogs and forms, the
API's errors next to the field, and a read key that sees no edit buttons."""

from __future__ import annotations

from typing import Any

import pytest

import drawdown
from drawdown.db.engine import Database
from tests.dashboard.conftest import ARTIFACTS, new_key
from tests.dashboard.test_browser import sign_in

pytestmark = pytest.mark.browser


def _shot(page: Any, database: Database, name: str) -> None:
    backend = "sqlite" if database.is_sqlite else "postgresql"
    page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)


def test_edit_customer_and_meter_in_the_browser(
    browser_page: Any, database: Database, live_url: str
) -> None:
    page = browser_page
    key = new_key(database)
    with drawdown.Client(key.secret, base_url=live_url) as client:
        customer = client.customers.create(email="ada@example.com", name="Ada")
        meter = client.meters.create(
            name="API usage",
            event_name="api_usage",
            aggregation={"func": "sum", "property": "units"},
        )
    sign_in(page, key.secret)

    page.goto(f"/dashboard/customers/{customer.id}")
    page.get_by_role("button", name="Edit customer").click()
    dialog = page.locator("dialog")
    dialog.get_by_label("Email").fill("not-an-email")
    dialog.get_by_label("Name").fill("Ada Lovelace")
    dialog.get_by_label("Metadata (JSON object)").fill('{"plan": "pro"}')
    # type="email" would stop the browser submitting: the server's check is the one shown.
    page.evaluate("document.getElementById('edit-email').type = 'text'")
    dialog.get_by_role("button", name="Save changes").click()
    error = page.locator('dialog [data-error-for="email"]')
    assert "must be an email address" in error.inner_text()
    assert page.locator("#edit-email").get_attribute("aria-invalid") == "true"
    _shot(page, database, "edit-customer-error")
    page.locator("#edit-email").fill("ada@lovelace.example")
    with page.expect_navigation():
        page.locator("dialog").get_by_role("button", name="Save changes").click()
    assert page.locator("#customer-name").inner_text() == "Ada Lovelace"
    assert page.get_by_text("ada@lovelace.example").is_visible()
    assert 'plan: "pro"' in page.locator("#customer-metadata").inner_text()
    _shot(page, database, "edit-customer-saved")

    page.goto(f"/dashboard/meters/{meter.id}")
    page.get_by_role("button", name="Edit meter").click()
    page.wait_for_url("**/edit")
    assert "api_usage" in page.locator("#fixed-event-name").inner_text()
    page.get_by_label("Name", exact=True).fill("API calls")
    page.get_by_label("Rate (credits per unit)").fill("0.25")
    page.get_by_role("button", name="Add clause").click()
    clause = page.locator("#clauses .clause-row").first
    clause.wait_for()
    clause.get_by_label("Property").fill("region")
    clause.get_by_label("Value").fill("eu")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/dashboard/meters/{meter.id}")
    assert "API calls" in page.locator("#meter-name").inner_text()
    definition = page.locator("#definition")
    assert definition.get_by_text('region eq "eu"').is_visible()
    assert "0.25" in definition.inner_text()

    with drawdown.Client(key.secret, base_url=live_url) as client:
        client.events.ingest(
            [
                {
                    "identifier": "edit-1",
                    "name": "api_usage",
                    "customer_id": customer.id,
                    "properties": {"units": 3, "region": "eu"},
                }
            ]
        )
        page.get_by_role("button", name="Edit meter").click()
        page.get_by_role("group", name="Aggregation").get_by_label("Property").fill("calls")
        page.get_by_role("button", name="Save changes").click()
        error = page.locator('[data-error-for="aggregation_property"]')
        assert "cannot change once events" in error.inner_text()
        _shot(page, database, "edit-meter-error")
        assert client.meters.get(meter.id).aggregation.property == "units"

    reader = new_key(database, scope="read", organization_id=key.tenant.organization_id)
    page.locator("aside.sidebar").get_by_role("button", name="Sign out").click()
    sign_in(page, reader.secret)
    for path in (f"/dashboard/customers/{customer.id}", f"/dashboard/meters/{meter.id}"):
        page.goto(path)
        assert page.get_by_text("Read-only key").is_visible()
        assert page.get_by_role("button", name="Edit customer").count() == 0
        assert page.get_by_role("button", name="Edit meter").count() == 0
