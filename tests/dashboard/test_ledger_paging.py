"""The customer page's ledger is paged (both databases): 25 entries in the page, the rest
through "Older entries", every entry once and in the API's order."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from tests.dashboard.conftest import Dash
from tests.dashboard.test_editing import _api
from tests.dashboard.test_security import _customer, _meter

ENTRY = re.compile(r'data-entry="([^"]+)"')
NEXT = re.compile(r'data-next-page hx-get="([^"]+)"')


def test_the_ledger_pages_through_every_entry_once(signed_in: Callable[..., Dash]) -> None:
    dash = signed_in()
    customer = _customer(dash, external_id="pager")
    meter = _meter(dash)
    grant = {"customer_id": customer, "meter_id": meter, "amount": "1000"}
    _api(dash, "POST", "/v1/credit-grants", json=grant)
    events = [
        {
            "identifier": f"p-{n}",
            "name": "api_usage",
            "customer_id": customer,
            "properties": {"units": 1},
        }
        for n in range(59)
    ]
    _api(dash, "POST", "/v1/events/ingest", json={"events": events})
    expected = [
        entry["id"]
        for entry in _api(
            dash, "GET", "/v1/credit-transactions", params={"customer_id": customer, "limit": 100}
        )["data"]
    ]
    assert len(expected) == 60

    page = dash.get(f"/dashboard/customers/{customer}").text
    ledger = page[page.index('<div id="ledger">') :]
    seen = ENTRY.findall(ledger)
    pages = [len(seen)]
    link = NEXT.search(ledger)
    while link is not None:
        fragment = dash.get(html.unescape(link.group(1)), headers={"HX-Request": "true"}).text
        found = ENTRY.findall(fragment)
        pages.append(len(found))
        seen += found
        link = NEXT.search(fragment)
    assert pages == [25, 25, 10]
    assert seen == expected
