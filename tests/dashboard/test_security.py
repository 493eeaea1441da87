"""Dashboard security without a browser (both databases): sessions, CSRF, read-only keys,
tenant isolation, escaping, cookie flags, and the vendored files' hashes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drawdown.dashboard import STATIC_DIR
from drawdown.dashboard.session import COOKIE_NAME
from drawdown.db.engine import Database
from tests.dashboard.conftest import Dash, csrf_of, new_key

PAGES = [
    "/dashboard",
    "/dashboard/customers",
    "/dashboard/customers/new",
    "/dashboard/meters",
    "/dashboard/meters/new",
    "/dashboard/events",
    "/dashboard/api-keys",
    "/dashboard/webhooks",
]
XSS = "<script>alert(1)</script>"


def _customer(dash: Dash, **fields: str) -> str:
    data = {"email": "ada@example.com", "name": "Ada", "idempotency_key": "", **fields}
    response = dash.post("/dashboard/customers", data)
    assert response.status_code == 200, response.text
    found = re.search(r'id="new-customer-id">(cus_[0-9a-f]+)<', response.text)
    assert found, response.text
    return found.group(1)


def _meter(dash: Dash, event_name: str = "api_usage") -> str:
    data = {
        "name": "API usage",
        "conjunction": "and",
        "filter_property": ["name"],
        "filter_operator": ["eq"],
        "filter_value": [event_name],
        "aggregation_func": "sum",
        "aggregation_property": "units",
        "rate": "1",
        "currency_id": "",
    }
    response = dash.post("/dashboard/meters", data)
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).rsplit("/", 1)[1]


def test_no_page_without_a_session(app: Any) -> None:
    with TestClient(app) as client:
        for path in [*PAGES, "/dashboard/customers/cus_00000000000000000000000000000000"]:
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/dashboard/login?next=")
        data = client.get("/dashboard/api/meters/x/quantities")
        assert data.status_code == 401
        htmx = client.get("/dashboard/customers", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/dashboard/login"
        # A forged cookie is no session either.
        client.cookies.set(COOKIE_NAME, "eyJjIjoieCJ9.forged", path="/dashboard")
        assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_sign_in_cookie_flags_and_sign_out(signed_in: Callable[..., Dash]) -> None:
    dash = signed_in()
    login_page = dash.client.get("/dashboard/login")
    cookie = login_page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert dash.get("/dashboard").status_code == 200
    out = dash.post("/dashboard/logout")
    assert out.status_code == 303
    assert dash.get("/dashboard", follow_redirects=False).status_code == 303


def test_wrong_key_and_missing_csrf_cannot_sign_in(app: Any, database: Database) -> None:
    key = new_key(database)
    with TestClient(app) as client:
        csrf = csrf_of(client.get("/dashboard/login").text)
        wrong = client.post("/dashboard/login", data={"csrf_token": csrf, "api_key": "dd_test_x"})
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
        no_csrf = client.post(
            "/dashboard/login", data={"api_key": key.secret}, follow_redirects=False
        )
        assert no_csrf.status_code == 403
        assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_test_key_shows_the_test_mode_banner(signed_in: Callable[..., Dash]) -> None:
    assert "Test mode: you are viewing test data" in signed_in(mode="test").get("/dashboard").text
    live = signed_in(mode="live").get("/dashboard").text
    assert "Test mode: you are viewing test data" not in live


def test_every_write_refuses_a_missing_or_wrong_csrf_token(
    signed_in: Callable[..., Dash],
) -> None:
    dash = signed_in()
    customer = _customer(dash)
    meter = _meter(dash)
    writes = [
        ("/dashboard/customers", {"email": "x@example.com"}),
        (f"/dashboard/customers/{customer}/grants", {"amount": "5", "category": "paid"}),
        (f"/dashboard/meters/{meter}/deactivate", {}),
        ("/dashboard/meters", {"name": "m"}),
        ("/dashboard/api-keys", {"name": "k", "scope": "full"}),
        ("/dashboard/logout", {}),
    ]
    for url, data in writes:
        for token in (None, "wrong-token"):
            body = dict(data) if token is None else {**data, "csrf_token": token}
            response = dash.client.post(url, data=body, follow_redirects=False)
            assert response.status_code == 403, (url, token, response.text)
            assert "CSRF" in response.text
    page = dash.get("/dashboard/customers").text
    assert page.count('data-customer="') == 1  # nothing was created
    assert 'data-balance="available"' not in dash.get(f"/dashboard/customers/{customer}").text


def test_read_key_sees_everything_and_changes_nothing(
    signed_in: Callable[..., Dash], database: Database
) -> None:
    writer = signed_in()
    customer = _customer(writer)
    meter = _meter(writer)
    reader = signed_in(scope="read", organization_id=writer.key.tenant.organization_id)
    detail = reader.get(f"/dashboard/customers/{customer}")
    assert detail.status_code == 200 and "Ada" in detail.text
    assert "Read-only key" in detail.text
    for label in ("Grant credits", "Add Customer", "Void", "Create Meter", "Deactivate"):
        for path in (
            f"/dashboard/customers/{customer}",
            "/dashboard/customers",
            f"/dashboard/meters/{meter}",
            "/dashboard/meters",
        ):
            assert f">{label}<" not in reader.get(path).text, (label, path)
    writes = [
        ("/dashboard/customers", {"email": "x@example.com"}),
        (f"/dashboard/customers/{customer}/grants", {"amount": "5", "category": "paid"}),
        (f"/dashboard/meters/{meter}/deactivate", {}),
        ("/dashboard/api-keys", {"name": "k", "scope": "full"}),
    ]
    for url, data in writes:
        response = reader.post(url, data)
        assert response.status_code == 403, (url, response.text)
        assert "read-only" in response.text
    for path in (
        "/dashboard/customers/new",
        f"/dashboard/customers/{customer}/grants/new",
        "/dashboard/meters/new",
    ):
        assert reader.get(path).status_code == 403
    assert "status-active" in writer.get(f"/dashboard/meters/{meter}").text
    assert writer.get("/dashboard/customers").text.count('data-customer="') == 1


def test_org_a_never_sees_org_b(signed_in: Callable[..., Dash]) -> None:
    a, b = signed_in(), signed_in()
    secret_name = "Org B private customer"
    b_customer = _customer(b, name=secret_name, email="b@example.com", external_id="b-1")
    b_meter = _meter(b, event_name="b_usage")
    for path in PAGES:
        text = a.get(path).text
        assert secret_name not in text and b_customer not in text and "b_usage" not in text
    assert a.get("/dashboard/customers?q=Org+B").text.count('data-customer="') == 0
    assert a.get(f"/dashboard/customers/{b_customer}").status_code == 404
    assert a.get(f"/dashboard/meters/{b_meter}").status_code == 404
    assert a.get(f"/dashboard/api/meters/{b_meter}/quantities").status_code == 404
    assert a.get(f"/dashboard/customers/{b_customer}/ledger.csv").status_code == 404
    grant = a.post(f"/dashboard/customers/{b_customer}/grants", {"amount": "5"})
    assert grant.status_code == 404
    b_keys = b.get("/dashboard/api-keys").text
    b_key_id = re.search(r'data-key="(key_[0-9a-f]+)"', b_keys)
    assert b_key_id is not None
    assert a.post(f"/dashboard/api-keys/{b_key_id.group(1)}/revoke").status_code == 404
    assert b.get("/dashboard").status_code == 200  # b's key still works


def test_user_strings_are_escaped(signed_in: Callable[..., Dash]) -> None:
    dash = signed_in()
    customer = _customer(dash, name=XSS, email="x@example.com", external_id=XSS)
    for path in (
        "/dashboard/customers",
        f"/dashboard/customers/{customer}",
        "/dashboard/customers?q=script",
    ):
        text = dash.get(path).text
        assert XSS not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    response = dash.get("/dashboard")
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_form_errors_are_the_api_errors_next_to_the_field(
    signed_in: Callable[..., Dash],
) -> None:
    dash = signed_in()
    _customer(dash, external_id="dup")
    again = dash.post("/dashboard/customers", {"email": "b@example.com", "external_id": "dup"})
    assert 'data-error-for="external_id"' in again.text and "already exists" in again.text
    bad = dash.post("/dashboard/customers", {"email": "not an email"})
    assert 'data-error-for="email"' in bad.text


def test_revoking_the_key_ends_its_sessions(signed_in: Callable[..., Dash]) -> None:
    dash = signed_in()
    key_id = re.search(r'data-key="(key_[0-9a-f]+)"', dash.get("/dashboard/api-keys").text)
    assert key_id is not None
    assert dash.post(f"/dashboard/api-keys/{key_id.group(1)}/revoke").status_code == 303
    assert dash.get("/dashboard", follow_redirects=False).status_code == 303


def test_vendored_files_match_vendor_md() -> None:
    vendor = STATIC_DIR / "vendor"
    table = (vendor / "VENDOR.md").read_text()
    rows = re.findall(r"\| `([^`]+)` \| `[^`]+` \| [\d.]+ \| `[^`]+` \| `([0-9a-f]{64})` \|", table)
    assert len(rows) == 3
    for name, digest in rows:
        assert hashlib.sha256(Path(vendor / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize(
    "path", ["/dashboard/static/vendor/htmx.min.js", "/dashboard/static/dashboard.js"]
)
def test_static_files_are_served_by_the_app(app: Any, path: str) -> None:
    with TestClient(app) as client:
        assert client.get(path).status_code == 200


def test_overview_counts_events_debt_and_expiring_grants(
    signed_in: Callable[..., Dash],
) -> None:
    from datetime import UTC, datetime, timedelta

    dash = signed_in()
    headers = {"Authorization": f"Bearer {dash.key.secret}"}
    debtor = _customer(dash, name="Debtor", external_id="debtor")
    saver = _customer(dash, name="Saver", email="s@example.com", external_id="saver")
    meter = _meter(dash)
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    for customer, expires_at in ((saver, soon), (saver, later)):
        grant = {
            "customer_id": customer,
            "meter_id": meter,
            "amount": "10",
            "expires_at": expires_at,
        }
        made = dash.client.post("/v1/credit-grants", json=grant, headers=headers)
        assert made.status_code == 201, made.text
    batch = [
        {
            "identifier": f"o-{n}",
            "name": "api_usage",
            "external_customer_id": who,
            "properties": {"units": 4},
        }
        for n, who in enumerate(("debtor", "saver", "debtor"))
    ]
    ingested = dash.client.post("/v1/events/ingest", json={"events": batch}, headers=headers)
    assert ingested.json() == {"inserted": 3, "duplicates": 0}
    text = dash.get("/dashboard").text
    assert re.search(r'data-stat="events_hour">3<', text)
    assert re.search(r'data-stat="events_day">3<', text)
    assert re.search(r'data-stat="in_debt">1<', text)
    assert re.search(r'data-stat="expiring">1<', text)
    assert debtor in re.search(r'id="debtors".*?</table>', text, re.S).group(0)  # type: ignore[union-attr]
    assert "8.00" in text  # the debtor's debt: two events of 4 units at rate 1
    expiring = re.search(r'id="expiring".*?</table>', text, re.S).group(0)  # type: ignore[union-attr]
    assert saver in expiring and "6.00" in expiring  # 10 granted, 4 drawn (soonest expiry first)
