"""Inputs an outside fuzzer found to give a 500 (or to be taken when they should not): each
is now a 4xx in its surface's one error shape, the same on SQLite and PostgreSQL, with
nothing stored. The walker behind the NUL / lone-surrogate / NaN refusals is
drawdown.http.text, shared by every route."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.dialects.paymentkit.shapes import assert_error as assert_pk_error
from tests.helpers import make_meter

JSON = {"Content-Type": "application/json"}


def raw(api: Any, method: str, url: str, body: Any) -> Any:
    """Send ``body`` as JSON with Python's escapes (\\u0000, \\udfff, NaN) kept as such."""
    return api.request(method, url, content=json.dumps(body).encode(), headers=JSON)


def problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and isinstance(body["detail"], str)
    return body


def locs(body: dict[str, Any]) -> list[list[Any]]:
    return [error["loc"] for error in body["errors"]]


def polar_422(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error", "detail"} and isinstance(body["detail"], list), body
    return [item["loc"] for item in body["detail"]]


@pytest.fixture
def setup(api: Any) -> Any:
    api.ok("POST", "/v1/customers", 201, json={"external_id": "bad_input_user"})
    make_meter(api, "bad_input_call")
    return api


def grant_body(**extra: Any) -> dict[str, Any]:
    return {
        "external_customer_id": "bad_input_user",
        "meter_id": "bad_input_call",
        "amount": "5",
        **extra,
    }


def grant_count(api: Any) -> int:
    return len(api.ok("GET", "/v1/credit-grants?limit=100")["data"])


# --- amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "msg"),
    [
        ("1e999999", "is too large"),  # was decimal.Overflow, a 500
        (True, "NOT_A_DECIMAL"),  # was taken as 1
        ("1_000", "NOT_A_DECIMAL"),  # was taken as 1000
        ("Infinity", "NOT_A_DECIMAL"),
        (" 1 0", "NOT_A_DECIMAL"),
        ("-0x1", "NOT_A_DECIMAL"),
        # One plain message, not one per member of a union ("amount.constrained-str: ...").
        (1.5, "NOT_A_DECIMAL"),
    ],
)
def test_a_grant_amount_that_is_not_a_plain_decimal_is_a_422(
    setup: Any, amount: Any, msg: str
) -> None:
    body = problem(setup.post("/v1/credit-grants", json=grant_body(amount=amount)))
    assert locs(body) == [["body", "amount"]]
    expected = 'must be a decimal string such as "12.50" or an integer'
    assert body["errors"][0]["msg"] == (expected if msg == "NOT_A_DECIMAL" else msg)
    assert grant_count(setup) == 0


def test_a_huge_payment_kit_event_value_is_a_400_in_payment_kit_shape(api: Any) -> None:
    api.ok(
        "POST",
        "/paymentkit/api/meters",
        json={
            "name": "Bad input",
            "event_name": "bad.input",
            "aggregation_method": "sum",
            "unit": "u",
        },
    )
    event = {
        "event_name": "bad.input",
        "payload": {"customer_id": "did:bad", "value": "1e999999"},
        "identifier": "bad-input-1",
    }
    body = assert_pk_error(
        api.post("/paymentkit/api/meter-events", json=event), 400, "validation_error"
    )
    assert "value" in body["error"]
    assert api.ok("GET", "/paymentkit/api/meter-events?event_name=bad.input")["count"] == 0


# --- times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [("expires_at", "9999-12-31T23:59:59-23:59"), ("effective_at", "0001-01-01T00:00:00+23:59")],
)
def test_grant_times_at_the_edges_of_the_calendar_are_a_422(
    setup: Any, name: str, value: str
) -> None:
    body = problem(setup.post("/v1/credit-grants", json=grant_body(**{name: value})))
    assert locs(body) == [["body", name]]
    assert grant_count(setup) == 0


def test_query_times_at_the_edges_of_the_calendar_are_a_422(setup: Any) -> None:
    url = "/v1/meters/bad_input_call/usage?from=0001-01-01T00:00:00%2B23:59&to=2030-01-01T00:00:00Z"
    assert locs(problem(setup.get(url))) == [["query", "from"]]


def test_a_past_expiry_without_effective_at_says_it_is_in_the_past(setup: Any) -> None:
    body = problem(
        setup.post("/v1/credit-grants", json=grant_body(expires_at="2001-01-01T00:00:00Z"))
    )
    assert body["errors"] == [{"loc": ["body", "expires_at"], "msg": "is already in the past"}]


# --- NUL, lone surrogates, NaN: one validator, every surface ----------------------------

NUL_CASES = [
    ("POST", "/v1/customers", {"external_id": "a\x00b"}, ["body", "external_id"]),
    ("POST", "/v1/customers", {"name": "J\x00hn"}, ["body", "name"]),
    ("POST", "/v1/customers", {"metadata": {"plan": "p\x00"}}, ["body", "metadata", "plan"]),
    ("POST", "/v1/customers", {"metadata": {"k\x00": "v"}}, ["body", "metadata"]),
    (
        "POST",
        "/v1/meters",
        {"name": "N\x00", "event_name": "e", "aggregation": {"func": "count"}},
        ["body", "name"],
    ),
    (
        "POST",
        "/v1/events/ingest",
        {
            "events": [
                {"identifier": "i\x00", "name": "bad_input_call", "external_customer_id": "u"}
            ]
        },
        ["body", "events", 0, "identifier"],
    ),
    (
        "POST",
        "/v1/events/ingest",
        {
            "events": [
                {
                    "identifier": "nul-prop",
                    "name": "bad_input_call",
                    "external_customer_id": "bad_input_user",
                    "properties": {"x": "\udfff"},
                }
            ]
        },
        ["body", "events", 0, "properties", "x"],
    ),
    ("GET", "/v1/customers/cus_%00", None, ["path", "customer_id"]),
]


@pytest.mark.parametrize(("method", "url", "body", "loc"), NUL_CASES)
def test_nul_and_lone_surrogates_are_a_422_naming_the_field(
    setup: Any, method: str, url: str, body: Any, loc: list[Any]
) -> None:
    response = raw(setup, method, url, body) if body is not None else setup.get(url)
    assert loc in locs(problem(response))
    # Nothing was stored, and every list still reads.
    assert [c["external_id"] for c in setup.ok("GET", "/v1/customers")["data"]] == [
        "bad_input_user"
    ]
    assert setup.ok("GET", "/v1/events")["data"] == []
    assert len(setup.ok("GET", "/v1/meters")["data"]) == 1


def test_nul_in_a_query_parameter_is_a_422(setup: Any) -> None:
    assert ["query", "q"] in locs(problem(setup.get("/v1/customers", params={"q": "a\x00"})))


def test_nan_and_infinity_in_grant_metadata_are_a_422(setup: Any) -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        content = json.dumps(grant_body(metadata={"x": "PLACEHOLDER"})).replace(
            '"PLACEHOLDER"', literal
        )
        response = setup.post("/v1/credit-grants", content=content.encode(), headers=JSON)
        body = problem(response)
        assert body["errors"] == [
            {"loc": ["body", "metadata", "x"], "msg": "must be a finite number"}
        ]
    assert grant_count(setup) == 0


def test_polar_routes_refuse_nul_and_surrogates_in_polar_shape(api: Any) -> None:
    body = {"email": "polar-nul@example.com", "name": "N\x00"}
    assert polar_422(raw(api, "POST", "/polar/v1/customers/", body)) == [["body", "name"]]
    event = {"name": "x", "external_customer_id": "u", "metadata": {"k": "\udfff"}}
    loc = polar_422(raw(api, "POST", "/polar/v1/events/ingest", {"events": [event]}))
    assert loc == [["body", "events", 0, "metadata", "k"]]
    assert api.ok("GET", "/polar/v1/customers/")["items"] == []
    assert api.ok("GET", "/polar/v1/events/")["items"] == []


def test_payment_kit_routes_refuse_nul_in_payment_kit_shape(api: Any) -> None:
    meter = {"name": "M\x00", "event_name": "pk.nul", "aggregation_method": "sum", "unit": "u"}
    body = assert_pk_error(
        raw(api, "POST", "/paymentkit/api/meters", meter), 400, "validation_error"
    )
    assert body["error"].startswith("name: must not contain NUL")
    assert api.ok("GET", "/paymentkit/api/meters")["count"] == 0


# --- malformed bodies -------------------------------------------------------------------

NOT_UTF8 = b'{"name": "\xff\xfe"}'


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/paymentkit/api/credit-grants"),
        ("PUT", "/paymentkit/api/credit-grants/cgr_x"),
        ("POST", "/paymentkit/api/meter-events"),
    ],
)
@pytest.mark.parametrize("content", [NOT_UTF8, b"{bad"])
def test_malformed_json_on_payment_kit_routes_is_a_400_in_its_shape(
    api: Any, method: str, url: str, content: bytes
) -> None:
    response = api.request(method, url, content=content, headers=JSON)
    body = assert_pk_error(response, 400, "validation_error")
    assert "JSON" in body["error"]


@pytest.mark.parametrize("content", [NOT_UTF8, b"{bad"])
def test_malformed_json_on_polar_routes_is_a_422_in_polar_shape(api: Any, content: bytes) -> None:
    response = api.post("/polar/v1/customers/", content=content, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error", "detail"}


@pytest.mark.parametrize("content", [NOT_UTF8, b"{bad"])
def test_malformed_json_on_native_routes_is_a_422_problem(api: Any, content: bytes) -> None:
    body = problem(api.post("/v1/customers", content=content, headers=JSON))
    assert locs(body) == [["body"]]
    assert body["errors"][0]["msg"].startswith("Malformed JSON")


# --- pages, methods, messages -----------------------------------------------------------


def test_a_polar_page_past_any_offset_is_an_empty_page_and_the_pool_stays_healthy(
    api: Any,
) -> None:
    for path in ("customers/", "meters/", "events/", "webhooks/endpoints"):
        page = api.ok("GET", f"/polar/v1/{path}?page=291290744775965696&limit=100")
        assert page["items"] == []
        # A limit past any row count is capped at 100, as Polar does.
        page = api.ok("GET", f"/polar/v1/{path}?page=6111890603&limit=319173342410")
        assert page["items"] == []
    # On SQLite the failed connection used to go back to the pool holding its lock.
    api.ok("POST", "/v1/customers", 201, json={"external_id": "after_big_page"})


def test_405_carries_allow_with_every_method_of_the_path(api: Any) -> None:
    response = api.delete("/v1/customers")
    body = problem(response, 405)
    assert response.headers["allow"] == "GET, POST"  # Starlette named only the first route's
    assert body["code"] == "method_not_allowed"
    polar = api.request("PUT", "/polar/v1/customers/")
    assert (polar.status_code, polar.headers["allow"]) == (405, "GET, POST")
    assert polar.json()["error"] == "MethodNotAllowed"
    # The Payment Kit catch-all answered 404 for a known path with another method.
    pk = api.delete("/paymentkit/api/meters")
    assert (pk.status_code, pk.headers["allow"]) == (405, "GET, POST")
    assert_pk_error(pk, 405, "method_not_allowed")


@pytest.mark.parametrize(
    "url",
    [
        "/v1/events?to=0.5",
        "/v1/credit-transactions?to=0.5",
        "/polar/v1/events/?start_timestamp=0.5",
        "/polar/v1/events/?source=false",
    ],
)
def test_query_values_the_schema_refuses_are_refused(api: Any, url: str) -> None:
    assert api.get(url).status_code == 422, url


def test_strict_types_where_the_schema_says_so(setup: Any) -> None:
    long_digits = "0" * 600  # was read as the integer 0, past the 500-character limit
    body = problem(
        setup.patch("/v1/customers/external/bad_input_user", json={"metadata": {"x": long_digits}})
    )
    assert body["errors"][0]["loc"][:3] == ["body", "metadata", "x"]
    meter = setup.ok(
        "POST",
        "/polar/v1/meters/",
        201,
        json={
            "name": "Strict",
            "filter": {
                "conjunction": "and",
                "clauses": [{"property": "name", "operator": "eq", "value": "strict_call"}],
            },
            "aggregation": {"func": "count"},
        },
    )
    archived = setup.patch(f"/polar/v1/meters/{meter['id']}", json={"is_archived": 0})
    assert polar_422(archived) == [["body", "is_archived"]]


def test_a_bad_email_says_so_without_a_regex(api: Any) -> None:
    body = problem(api.post("/v1/customers", json={"email": "not-an-email"}))
    assert body["errors"] == [
        {"loc": ["body", "email"], "msg": "must be an email address such as user@example.com"}
    ]


def test_the_event_age_limit_reads_in_days_with_the_setting(setup: Any) -> None:
    event = {
        "identifier": "too-old",
        "name": "bad_input_call",
        "external_customer_id": "bad_input_user",
        "timestamp": "2001-01-01T00:00:00Z",
    }
    body = problem(setup.post("/v1/events/ingest", json={"events": [event]}))
    msg = body["errors"][0]["msg"]
    assert msg == "is older than 35 days, the oldest accepted (DRAWDOWN_MAX_EVENT_AGE_S)"


# --- booleans and query times (schemathesis, coverage phase) ----------------------------


@pytest.mark.parametrize("enabled", [0, 1, "true", "no"])
def test_a_flag_that_is_not_a_json_boolean_is_a_422_and_nothing_is_stored(
    setup: Any, enabled: Any
) -> None:
    before = setup.ok("GET", "/v1/alerts?limit=100")["data"]
    body = {"meter_id": "bad_input_call", "thresholds": [{"code": "low", "value": "1"}]}
    assert locs(problem(raw(setup, "POST", "/v1/alerts", {**body, "enabled": enabled}))) == [
        ["body", "enabled"]
    ]
    endpoint = {"url": "https://example.com/hook", "event_types": ["*"], "enabled": enabled}
    assert locs(problem(raw(setup, "POST", "/v1/webhooks/endpoints", endpoint))) == [
        ["body", "enabled"]
    ]
    assert setup.ok("GET", "/v1/alerts?limit=100")["data"] == before


@pytest.mark.parametrize("until", ["0.5", "1700000000"])
def test_a_bare_number_is_not_a_time_in_the_webhook_events_query(setup: Any, until: str) -> None:
    assert locs(problem(setup.get(f"/v1/webhooks/events?until={until}"))) == [["query", "until"]]
