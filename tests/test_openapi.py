"""/openapi.json tells the truth: bearer security, every error documented in its surface's
shape, component names unique per surface, stable operation ids, date-time formats; /docs
and /redoc load only vendored files whose checksums VENDOR.md lists."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.http.docs import ASSETS_DIR
from drawdown.http.openapi import operation_id


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'o.db'}"
    with TestClient(create_app(Settings(database_url=url, run_clock_in_server=False))) as c:
        yield c


@pytest.fixture(scope="module")
def schema(client: Any) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/openapi.json").json()
    return body


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in schema["paths"].items() for m, op in ops.items()]


def test_bearer_security_applies_to_every_operation_but_health(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.1")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A drawdown API key: `Authorization: Bearer dd_test_...`",
    }
    assert schema["security"] == [{"bearerAuth": []}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    assert schema["paths"]["/readyz"]["get"]["security"] == []


def test_every_error_is_documented_in_its_surface_shape(schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for method, path, op in operations(schema):
        if path in ("/healthz", "/readyz"):  # health checks: no key, no error shapes
            continue
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert {"401", "403", "404", "429"} <= set(errors), (method, path)
        limited = errors["429"]["headers"]  # every call with a key spends its rate limit
        assert set(limited) == {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
                                "RateLimit-Reset"}, (method, path)  # fmt: skip
        assert all(h["required"] and h["schema"]["type"] == "integer" for h in limited.values())
        for code, response in errors.items():
            ((media, content),) = response["content"].items()
            ref = content["schema"]["$ref"].rsplit("/", 1)[1]
            if path.startswith("/polar/"):
                expected = (
                    "application/json",
                    "PolarValidationError" if code == "422" else "PolarError",
                )
            elif path.startswith("/paymentkit/"):
                expected = ("application/json", "PaymentKitError")
                assert code != "422"  # Payment Kit answers bad input with 400
            else:
                expected = ("application/problem+json", "Problem")
            assert (media, ref) == expected, (method, path, code)
    problem = schema["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}


def test_component_names_are_unique_per_surface(schema: dict[str, Any]) -> None:
    names = set(schema["components"]["schemas"])
    assert not [n for n in names if "__" in n or "-" in n]
    assert {"Meter", "PolarMeter", "PaymentKitMeter", "Customer", "PolarCustomer"} <= names
    assert {
        "MeterCreate",
        "PolarMeterCreate",
        "PaymentKitMeterCreate",
        "Event",
        "PolarEvent",
    } <= names
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(schema).replace("'", '"')))
    assert refs <= names  # every reference resolves


def test_operation_ids_are_stable_and_unique(schema: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(schema)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids)
    by_route = {(m, p): op["operationId"] for m, p, op in operations(schema)}
    assert by_route[("post", "/v1/customers")] == "customers_create"
    assert (
        by_route[("get", "/v1/customers/external/{external_id}")] == "customers_get_by_external_id"
    )
    assert by_route[("get", "/polar/v1/meters/")] == "polar_meters_list"
    assert by_route[("post", "/v1/events/ingest")] == "events_ingest"
    assert (
        by_route[("get", "/paymentkit/api/credit-grants/summary")]
        == "paymentkit_credit_grants_summary"
    )
    assert operation_id("post", "/v1/credit-grants/{grant_id}/void") == "credit_grants_void"


def test_times_are_date_time(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name in ("Customer", "Meter", "Grant", "PolarCustomer", "PolarMeter"):
        assert components[name]["properties"]["created_at"]["format"] == "date-time", name
    assert components["Event"]["properties"]["timestamp"]["format"] == "date-time"
    for name in (
        "PaymentKitMeter",
        "PaymentKitMeterEvent",
        "PaymentKitCreditGrant",
        "PaymentKitCreditTransaction",
        "PaymentKitCustomer",
        "PaymentKitPaymentCurrency",
    ):  # ISO strings on Payment Kit's wire; its other times are unix-second integers
        for field in ("created_at", "updated_at"):
            assert components[name]["properties"][field]["format"] == "date-time", name
    # Any time sent as a string, on any surface, says so (``*_at``, ``timestamp``).
    untyped = [
        (name, field)
        for name, body in components.items()
        for field, prop in (body.get("properties") or {}).items()
        if field.endswith("_at") or field == "timestamp"
        for option in prop.get("anyOf", [prop])
        if option.get("type") == "string" and option.get("format") != "date-time"
    ]
    assert not untyped
    grant = components["GrantCreate"]["properties"]
    assert {"type": "string", "format": "date-time"} in grant["expires_at"]["anyOf"]
    assert grant["amount"]["anyOf"][0]["pattern"] == "^[0-9]+(\\.[0-9]+)?$"


def _vendor_table() -> dict[str, str]:
    text = (ASSETS_DIR / "VENDOR.md").read_text()
    return dict(re.findall(r"^\| (\S+) \|.*\| ([0-9a-f]{64}) \|$", text, re.M))


def test_vendored_assets_match_vendor_md() -> None:
    table = _vendor_table()
    files = {p.name for p in ASSETS_DIR.iterdir() if p.name != "VENDOR.md"}
    assert set(table) == files
    for name, digest in table.items():
        assert hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_files(client: Any, page: str) -> None:
    html = client.get(page).text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"https?://[^\s'\"<>]+", html)
    assert urls and all(u.startswith("/docs-assets/") for u in urls), urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response.content, url
    if page == "/docs":
        assert "persistAuthorization" in html


def test_the_assets_ship_in_the_package() -> None:
    assert (
        Path(ASSETS_DIR).is_dir() and (ASSETS_DIR / "swagger-ui-bundle.js").stat().st_size > 10**6
    )
