"""The Webhooks page in headless Chromium against a live ``drawdown serve`` (both databases),
with a real receiver and the real delivery worker: the overview cards lead to the page, the
endpoints show their state and last delivery, an endpoint's deliveries show what the
receiver answered, and Redeliver sends the same ``webhook-id`` again. A read key sees no
button."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from drawdown.clock import SystemClock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.webhooks.worker import Deliverer
from tests.dashboard.conftest import ARTIFACTS, new_key
from tests.dashboard.test_browser import sidebar, sign_in
from tests.webhooks.conftest import drain
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.browser


@pytest.fixture
def live_deliverer(database: Database, settings: Settings) -> Iterator[Deliverer]:
    """The delivery worker on the live server's database, on the wall clock (the server
    schedules redeliveries at its own now)."""
    worker = Deliverer(database, SystemClock(), settings)
    yield worker
    worker.close()


def _shot(page: Any, database: Database, name: str) -> None:
    backend = "sqlite" if database.is_sqlite else "postgresql"
    page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)


def test_webhooks_page_and_redeliver(
    browser_page: Any,
    chromium: Any,
    database: Database,
    live_url: str,
    receiver: Receiver,
    live_deliverer: Deliverer,
) -> None:
    key = new_key(database)
    http = httpx.Client(base_url=live_url, headers={"Authorization": f"Bearer {key.secret}"})
    endpoints = {}
    for path in ("/hooks", "/gone"):
        body = {"url": receiver.url(path), "event_types": ["customer.created"]}
        created = http.post("/v1/webhooks/endpoints", json=body).json()
        receiver.route(path, created["secret"])
        endpoints[path] = created["id"]
    receiver.route("/gone").plan = [(410, {})]
    assert http.post("/v1/customers", json={"external_id": "wh-browser"}).status_code == 201
    drain(live_deliverer)
    (sent,) = receiver.at("/hooks")

    page = browser_page
    sign_in(page, key.secret)
    failing = page.locator('[data-panel="Failing webhook endpoints"]')
    assert failing.locator("strong").inner_text() == "1"
    assert page.locator('[data-panel="Alerts in alarm"] strong').inner_text() == "0"
    failing.get_by_role("link").click()
    page.wait_for_url("**/dashboard/webhooks")
    assert (
        sidebar(page).get_by_role("link", name="Webhooks").get_attribute("aria-current") == "page"
    )
    hooks = page.locator(f'tr[data-endpoint="{endpoints["/hooks"]}"]')
    assert hooks.locator("[data-state]").inner_text() == "enabled"
    assert hooks.locator("[data-last]").inner_text().startswith("200")
    gone = page.locator(f'tr[data-endpoint="{endpoints["/gone"]}"]')
    assert gone.locator("[data-state]").inner_text() == "disabled the receiver answered 410 Gone"
    _shot(page, database, "webhooks")

    hooks.get_by_role("link").click()
    page.wait_for_url(f"**/dashboard/webhooks/{endpoints['/hooks']}")
    row = page.locator(f'#deliveries tr[data-event="{sent.webhook_id}"]')
    assert row.get_attribute("data-status") == "succeeded"
    assert row.locator("[data-attempts]").inner_text() == "1"
    assert row.locator("[data-latency]").inner_text().endswith(" ms")
    assert row.locator("[data-response]").inner_text() == "200 ok"
    row.get_by_role("button", name="Redeliver").click()
    page.wait_for_selector("#redelivered")
    assert sent.webhook_id in page.locator("#redelivered").inner_text()
    drain(live_deliverer)
    again = receiver.at("/hooks")
    assert [d.webhook_id for d in again] == [sent.webhook_id] * 2 and receiver.unverified == []
    page.reload()
    rows = page.locator(f'#deliveries tr[data-event="{sent.webhook_id}"]')
    assert rows.count() == 2
    assert [rows.nth(i).get_attribute("data-status") for i in range(2)] == ["succeeded"] * 2
    _shot(page, database, "webhook-endpoint")

    # A read key: the same page, no Redeliver button.
    reader = new_key(database, scope="read", organization_id=key.tenant.organization_id)
    context = chromium.new_context(base_url=live_url)
    try:
        read_page = context.new_page()
        sign_in(read_page, reader.secret)
        read_page.goto(f"/dashboard/webhooks/{endpoints['/hooks']}")
        assert read_page.locator("#deliveries tr[data-event]").count() == 2
        assert read_page.get_by_role("button", name="Redeliver").count() == 0
    finally:
        context.close()
    http.close()
