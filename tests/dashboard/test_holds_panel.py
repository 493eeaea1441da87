"""The dashboard's holds panel without a browser (both databases): read keys see the holds
and no Release button and are refused server-side, a missing CSRF token is refused, a
double click releases once, a hold resolved meanwhile answers the API's conflict, a lapsed
hold leaves the table and the Active holds count at once (expiry is read lazily)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from drawdown.clock import ManualClock
from tests.dashboard.conftest import Dash


def _api(dash: Dash, method: str, url: str, status: int, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {dash.key.secret}"}
    response = dash.client.request(method, url, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def _seed(dash: Dash) -> dict[str, Any]:
    currency = _api(
        dash, "POST", "/v1/currencies", 201, json={"name": "Cr", "symbol": "cr", "decimals": 2}
    )
    customer = _api(dash, "POST", "/v1/customers", 201, json={"external_id": "panel-1"})
    grant = {"customer_id": customer["id"], "currency_id": currency["id"], "amount": "20"}
    _api(dash, "POST", "/v1/credit-grants", 201, json=grant)
    return {"customer": customer["id"], "currency": currency["id"]}


def _hold(dash: Dash, seeded: dict[str, Any], amount: str, timeout_s: int = 300) -> str:
    body = {
        "customer_id": seeded["customer"],
        "currency_id": seeded["currency"],
        "amount": amount,
        "timeout_s": timeout_s,
    }
    return str(_api(dash, "POST", "/v1/holds", 201, json=body)["id"])


def _shown(text: str) -> list[str]:
    return re.findall(r'<tr data-hold="(hld_[0-9a-f]+)"', text)


def _held(text: str) -> str:
    found = re.search(r'data-balance="held">([^<]+)<', text)
    assert found, text[:500]
    return found.group(1)


def _active_card(text: str) -> str:
    found = re.search(r"<small>Active holds</small><strong>([^<]+)</strong>", text)
    assert found, text[:500]
    return found.group(1)


def test_read_key_sees_holds_and_cannot_release(signed_in: Callable[..., Dash]) -> None:
    writer = signed_in()
    seeded = _seed(writer)
    hold_id = _hold(writer, seeded, "3")
    reader = signed_in(scope="read", organization_id=writer.key.tenant.organization_id)
    page = reader.get(f"/dashboard/customers/{seeded['customer']}").text
    assert _shown(page) == [hold_id] and _held(page) == "3.00"
    assert ">Release<" not in page
    assert ">Release<" in writer.get(f"/dashboard/customers/{seeded['customer']}").text
    refused = reader.post(f"/dashboard/holds/{hold_id}/release", {})
    assert refused.status_code == 403 and "read-only" in refused.text
    no_csrf = writer.client.post(f"/dashboard/holds/{hold_id}/release", data={})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    assert _api(writer, "GET", f"/v1/holds/{hold_id}", 200)["status"] == "active"
    assert _active_card(reader.get("/dashboard").text) == "1"


def test_release_once_conflict_and_lazy_expiry(
    signed_in: Callable[..., Dash], clock: ManualClock
) -> None:
    dash = signed_in()
    seeded = _seed(dash)
    kept = _hold(dash, seeded, "2", timeout_s=600)
    released = _hold(dash, seeded, "5")
    lapsing = _hold(dash, seeded, "1", timeout_s=30)
    page = dash.get(f"/dashboard/customers/{seeded['customer']}").text
    assert _shown(page) == [lapsing, released, kept] and _held(page) == "8.00"
    assert _active_card(dash.get("/dashboard").text) == "3"

    form = {"idempotency_key": f"release-{released}"}
    first = dash.post(f"/dashboard/holds/{released}/release", form)
    assert first.status_code == 200 and first.headers["hx-refresh"] == "true"
    again = dash.post(f"/dashboard/holds/{released}/release", form)  # a double click
    assert again.status_code == 200
    shown = _api(dash, "GET", f"/v1/holds/{released}", 200)
    assert shown["status"] == "released" and shown["reason"] is None
    # Without the key a second release is the API's 409, shown where the action was.
    late = dash.post(f"/dashboard/holds/{released}/release", {}, headers={"HX-Request": "true"})
    assert late.status_code == 409 and late.headers["hx-retarget"] == "#flash"
    assert "released" in late.text

    clock.advance(timedelta(seconds=31))
    page = dash.get(f"/dashboard/customers/{seeded['customer']}").text
    assert _shown(page) == [kept] and _held(page) == "2.00"
    assert _active_card(dash.get("/dashboard").text) == "1"
    balance = _api(dash, "GET", f"/v1/customers/{seeded['customer']}/balances", 200)["data"][0]
    assert (balance["available"], balance["held"]) == ("18.00", "2.00")
