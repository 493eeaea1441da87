"""The dashboard in headless Chromium against a live ``drawdown serve`` (both databases):
the seeds' two flows click by click, then usage from the SDK showing up in the pages,
grant and void from the customer page, the ledger against the API's, and escaping.
Screenshots land in tests/dashboard/artifacts/ (gitignored)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

import drawdown
from drawdown.db.engine import Database
from tests.dashboard.conftest import ARTIFACTS, new_key

pytestmark = pytest.mark.browser

XSS = "<script>alert(1)</script>"


# Which database the current test runs on, for the screenshots' names.
_BACKEND = ["sqlite"]


@pytest.fixture(autouse=True)
def _backend_name(database: Database) -> None:
    _BACKEND[0] = "sqlite" if database.is_sqlite else "postgresql"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{_BACKEND[0]}-{name}.png"), full_page=True)


def sign_in(page: Any, secret: str) -> None:
    page.goto("/dashboard")
    assert "/dashboard/login" in page.url  # no page without a session
    page.get_by_label("API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def sidebar(page: Any) -> Any:
    return page.locator("aside.sidebar")


def add_customer(page: Any, email: str, name: str, external_id: str) -> str:
    """Seed 1: "In the dashboard sidebar, click on Customers. Click Add Customer and fill
    in: Email (required), Name (optional), External ID (optional, recommended). Click Save
    and note down the Customer ID"."""
    sidebar(page).get_by_role("link", name="Customers").click()
    page.wait_for_url("**/dashboard/customers")
    page.get_by_role("button", name="Add Customer").click()
    page.get_by_label("Email (required)").fill(email)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("External ID (optional, recommended)").fill(external_id)
    page.get_by_role("button", name="Save").click()
    customer_id = page.locator("#new-customer-id").inner_text()
    assert customer_id.startswith("cus_")
    assert page.locator("dialog").get_by_role("button", name="Copy").is_visible()
    shot(page, "add-customer-saved")
    with page.expect_navigation():  # closing the dialog shows the list with the new customer
        page.locator("dialog [data-close]").click()
    assert page.locator(f'tr[data-customer="{customer_id}"]').is_visible()
    return str(customer_id)


def create_meter(page: Any, name: str, event_name: str, prop: str) -> str:
    """Seed 2: "Products > Meters > Create Meter: Name; Filter (e.g. name equals
    "api_usage"); Aggregation: Sum, and the property to sum (e.g. units). Save"."""
    group = sidebar(page).locator("p.nav-group", has_text="Products")
    assert group.is_visible()
    # The Meters link is the first entry of the list right under "Products".
    group.locator("xpath=following-sibling::ul[1]").get_by_role("link", name="Meters").click()
    page.wait_for_url("**/dashboard/meters")
    page.get_by_role("button", name="Create Meter").click()
    page.get_by_label("Name", exact=True).fill(name)
    clause = page.locator("#clauses .clause-row").first
    clause.get_by_label("Property").fill("name")
    clause.get_by_label("Operator").select_option(label="equals")
    clause.get_by_label("Value").fill(event_name)
    aggregation = page.locator("fieldset", has_text="Aggregation")
    aggregation.get_by_label("Function").select_option(label="Sum")
    aggregation.get_by_label("Property").fill(prop)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/dashboard/meters/mtr_*")
    return str(page.url.rsplit("/", 1)[1])


def wait_chart(page: Any, canvas: str) -> str:
    page.wait_for_function(f"document.getElementById('{canvas}').dataset.ready === 'true'")
    return str(page.locator(f"#{canvas}").get_attribute("data-total"))


def test_seed_flows_usage_grants_and_ledger(
    browser_page: Any, database: Database, live_url: str
) -> None:
    page = browser_page
    key = new_key(database)
    sign_in(page, key.secret)
    assert page.get_by_text("Test mode: you are viewing test data").is_visible()
    shot(page, "overview-empty")

    external_id = f"user-{uuid.uuid4().hex[:8]}"
    customer_id = add_customer(page, "ada@example.com", "Ada Lovelace", external_id)
    meter_id = create_meter(page, "API usage", "api_usage", "units")
    assert page.locator("#definition").get_by_text("name equals api_usage").is_visible()
    assert wait_chart(page, "meter-quantities") == "0"

    # Grant credits from the customer page.
    page.goto(f"/dashboard/customers/{customer_id}")
    page.get_by_role("button", name="Grant credits").click()
    page.get_by_label("Amount").fill("100")
    page.get_by_label("Name (optional)").fill("Trial bonus")
    page.locator("dialog").get_by_role("button", name="Grant credits").click()
    page.wait_for_selector("#grants tr[data-grant]")
    assert page.locator('[data-balance="available"]').inner_text() == "100.00"

    # Usage from the SDK: the meter's chart and the customer's balance change in the page.
    page.goto(f"/dashboard/meters/{meter_id}")
    assert wait_chart(page, "meter-quantities") == "0"
    with drawdown.Client(key.secret, base_url=live_url) as client:
        result = client.events.ingest(
            [
                {
                    "identifier": f"e-{n}",
                    "name": "api_usage",
                    "external_customer_id": external_id,
                    "properties": {"units": units},
                }
                for n, units in enumerate((5, 7, 30))
            ]
        )
        assert result.inserted == 3
        page.locator('[data-chart-controls="meter-quantities"] select[name="range"]').select_option(
            "7"
        )
        page.wait_for_function("document.getElementById('meter-quantities').dataset.total === '42'")
        page.reload()
        assert page.locator('[data-total="all_time"]').inner_text() == "42"
        assert page.locator("#latest-events tbody tr").count() == 3
        assert (
            page.locator("#meter-customers").get_by_role("link", name="Ada Lovelace").is_visible()
        )
        shot(page, "meter-detail")

        page.goto(f"/dashboard/customers/{customer_id}")
        assert page.locator('[data-balance="available"]').inner_text() == "58.00"
        assert wait_chart(page, "customer-usage") == "42"
        shot(page, "customer-detail")
        # The README's picture (docs/dashboard.png) is this one: the first screen only.
        page.screenshot(path=str(ARTIFACTS / f"{_BACKEND[0]}-readme.png"))

        # Void from the customer page (confirming the dialog): what remained leaves.
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#grants").get_by_role("button", name="Void").click()
        page.wait_for_selector("#grants .status-voided")
        assert page.locator('[data-balance="available"]').inner_text() == "0.00"

        # The ledger page matches the API's ledger, entry by entry.
        api = client.credit_transactions.list(customer_id=customer_id, limit=100)
        rows = page.locator("#ledger tbody tr")
        assert rows.count() == len(api.data) == 5  # grant, 3 consumptions, void
        for index, entry in enumerate(api.data):
            cells = rows.nth(index).locator("td").all_inner_texts()
            assert cells[0] == str(entry.sequence)
            assert cells[2] == entry.type
            assert Decimal(cells[3].split()[0]) == Decimal(entry.amount)
            assert Decimal(cells[4].split()[0]) == Decimal(entry.balance_after)

    # Each event shows its properties and the ledger entries it caused.
    page.goto(f"/dashboard/events?customer={customer_id}")
    assert page.locator("#events tr[data-event]").count() == 3
    page.locator("#events tr[data-event]").first.get_by_role("button", name="Details").click()
    detail = page.locator("[data-event-detail]")
    detail.wait_for()
    assert '"units": 30' in detail.locator("pre.props").inner_text()
    assert detail.locator("table.entries").get_by_text("consumption").is_visible()
    shot(page, "events")

    page.goto("/dashboard")
    shot(page, "overview")
    page.goto("/dashboard/api-keys")
    shot(page, "api-keys")


def test_script_names_render_as_text_and_run_nothing(browser_page: Any, database: Database) -> None:
    page = browser_page
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, new_key(database).secret)
    customer_id = add_customer(page, "x@example.com", XSS, XSS)
    page.goto("/dashboard/customers")
    row = page.locator(f'tr[data-customer="{customer_id}"]')
    assert row.get_by_role("link").inner_text() == XSS
    page.goto(f"/dashboard/customers/{customer_id}")
    assert page.locator("#customer-name").inner_text() == XSS
    page.goto("/dashboard/customers?q=script")
    assert page.locator(f'tr[data-customer="{customer_id}"]').count() == 1
    assert dialogs == []
    shot(page, "customers-escaped")


def test_inline_errors_and_search(browser_page: Any, database: Database) -> None:
    page = browser_page
    sign_in(page, new_key(database).secret)
    add_customer(page, "grace@example.com", "Grace Hopper", "grace")
    page.get_by_role("button", name="Add Customer").click()
    page.get_by_label("Email (required)").fill("other@example.com")
    page.get_by_label("External ID (optional, recommended)").fill("grace")
    page.get_by_role("button", name="Save").click()
    error = page.locator('[data-error-for="external_id"]')
    assert "already exists" in error.inner_text()
    shot(page, "add-customer-error")
    page.locator("dialog [data-close]").click()

    page.goto("/dashboard/customers")
    page.get_by_label("Search customers").fill("hopper")
    page.wait_for_function(
        "document.querySelectorAll('#customer-table tr[data-customer]').length === 1"
    )
    page.get_by_label("Search customers").fill("nobody-matches")
    page.wait_for_selector("#customer-table .empty")

    page.goto("/dashboard/meters/new")
    page.get_by_label("Name", exact=True).fill("Tokens")
    page.locator("#clauses .clause-row").first.get_by_label("Value").fill("llm_call")
    page.locator("fieldset", has_text="Aggregation").get_by_label("Function").select_option(
        label="Sum"
    )
    page.get_by_role("button", name="Save").click()
    assert (
        "needs a property" in page.locator('[data-error-for="aggregation_property"]').inner_text()
    )
    page.get_by_role("button", name="Add clause").click()
    page.locator("#clauses .clause-row").nth(1).wait_for()
    assert page.locator("#clauses .clause-row").count() == 2
    shot(page, "create-meter-error")
