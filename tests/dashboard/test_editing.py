"""Editing a customer and a meter from the dashboard (both databases, no browser): the
API's PATCH request models and services, their errors next to the field, nothing stored on
an error, read keys refused server-side, CSRF required, other organizations' rows unseen."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.dashboard.conftest import Dash
from tests.dashboard.test_security import _customer, _meter


def _api(dash: Dash, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {dash.key.secret}"}
    response = dash.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def _edit_customer(dash: Dash, customer: str, **fields: str) -> Any:
    current = _api(dash, "GET", f"/v1/customers/{customer}")
    form = {
        "email": current["email"] or "",
        "name": current["name"] or "",
        "external_id": current["external_id"] or "",
        "metadata": json.dumps(current["metadata"]),
        **fields,
    }
    return dash.post(f"/dashboard/customers/{customer}", form)


def _error(html: str, field: str) -> str:
    found = re.search(rf'data-error-for="{field}">([^<]*)<', html)
    assert found, html[:2000]
    return found.group(1)


def test_edit_customer_is_the_api_patch(signed_in: Callable[..., Dash]) -> None:
    dash = signed_in()
    customer = _customer(dash, name="Ada", email="ada@example.com")
    form = dash.get(f"/dashboard/customers/{customer}/edit")
    assert form.status_code == 200
    assert 'value="ada@example.com"' in form.text and "Edit customer" in form.text
    # An event already stored under the external id the customer is about to get.
    event = {"identifier": "before-edit", "name": "ping", "external_customer_id": "ada-1"}
    _api(dash, "POST", "/v1/events/ingest", json={"events": [event]})

    saved = _edit_customer(
        dash,
        customer,
        name="Ada Lovelace",
        email="ada@lovelace.example",
        external_id="ada-1",
        metadata='{"plan": "pro", "seats": 3, "vip": true}',
    )
    assert saved.status_code == 200, saved.text
    assert saved.headers["hx-refresh"] == "true"
    after = _api(dash, "GET", f"/v1/customers/{customer}")
    assert (after["name"], after["email"], after["external_id"]) == (
        "Ada Lovelace",
        "ada@lovelace.example",
        "ada-1",
    )
    assert after["metadata"] == {"plan": "pro", "seats": 3, "vip": True}
    # The same flow as PATCH: the customer claimed the event stored under its new id.
    claimed = _api(dash, "GET", "/v1/events", params={"customer_id": customer})
    assert [e["identifier"] for e in claimed["data"]] == ["before-edit"]
    page = dash.get(f"/dashboard/customers/{customer}").text
    assert "Ada Lovelace" in page and 'plan: "pro"' in page

    # A blank name clears it, as null does in the API; metadata can be emptied.
    _edit_customer(dash, customer, name="", metadata="")
    cleared = _api(dash, "GET", f"/v1/customers/{customer}")
    assert cleared["name"] is None and cleared["metadata"] == {}
    assert cleared["email"] == "ada@lovelace.example"


def test_edit_customer_errors_are_inline_and_store_nothing(
    signed_in: Callable[..., Dash],
) -> None:
    dash = signed_in()
    _customer(dash, name="Grace", email="grace@example.com", external_id="grace")
    customer = _customer(dash, name="Ada", email="ada@example.com")
    before = _api(dash, "GET", f"/v1/customers/{customer}")
    cases = [
        ({"email": "not an email"}, "email", "must be an email address"),
        ({"external_id": "grace", "name": "Changed"}, "external_id", "already exists"),
        ({"metadata": "{not json"}, "metadata", "is not valid JSON"),
        ({"metadata": "[1, 2]"}, "metadata", "must be a JSON object"),
        (
            {"metadata": json.dumps({f"k{n}": n for n in range(51)})},
            "metadata",
            "at most 50 keys",
        ),
        ({"name": "x" * 256}, "name", "at most 255 characters"),
    ]
    for fields, field, message in cases:
        response = _edit_customer(dash, customer, **fields)
        assert response.status_code == 200
        assert message in _error(response.text, field), (fields, response.text[:1500])
        assert "hx-refresh" not in response.headers
    assert _api(dash, "GET", f"/v1/customers/{customer}") == before

    _edit_customer(dash, customer, external_id="ada-1")
    fixed = _edit_customer(dash, customer, external_id="ada-2")
    assert "cannot be changed once set" in _error(fixed.text, "external_id")
    assert _api(dash, "GET", f"/v1/customers/{customer}")["external_id"] == "ada-1"
    assert "readonly" in dash.get(f"/dashboard/customers/{customer}/edit").text


def _edit_meter(dash: Dash, meter: str, **fields: Any) -> Any:
    current = _api(dash, "GET", f"/v1/meters/{meter}")
    clauses = (current["filter"] or {}).get("clauses", [])
    form: dict[str, Any] = {
        "name": current["name"],
        "description": current["description"],
        "unit": current["unit"],
        "rate": current["rate"],
        "metadata": json.dumps(current["metadata"]),
        "conjunction": (current["filter"] or {}).get("conjunction", "and"),
        "filter_property": [c["property"] for c in clauses],
        "filter_operator": [c["operator"] for c in clauses],
        "filter_value": [
            json.dumps(c["value"]) if isinstance(c["value"], str) else str(c["value"]).lower()
            for c in clauses
        ],
        "aggregation_func": current["aggregation"]["func"],
        "aggregation_property": current["aggregation"]["property"] or "",
        **fields,
    }
    return dash.post(f"/dashboard/meters/{meter}", form)


def test_edit_meter_is_the_api_patch(signed_in: Callable[..., Dash]) -> None:
    dash = signed_in()
    meter = _meter(dash, event_name="llm_call")
    form = dash.get(f"/dashboard/meters/{meter}/edit")
    assert form.status_code == 200 and "Edit meter" in form.text
    assert 'id="fixed-event-name"' in form.text and "llm_call" in form.text

    saved = _edit_meter(
        dash,
        meter,
        name="LLM tokens",
        unit="tokens",
        rate="0.5",
        description="Tokens of every model",
        metadata='{"team": "ml"}',
        filter_property=["model"],
        filter_operator=["eq"],
        filter_value=["gpt"],
        aggregation_property="tokens",
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/dashboard/meters/{meter}"
    after = _api(dash, "GET", f"/v1/meters/{meter}")
    assert (after["name"], after["unit"], after["rate"], after["description"]) == (
        "LLM tokens",
        "tokens",
        "0.5",
        "Tokens of every model",
    )
    assert after["metadata"] == {"team": "ml"}
    assert after["filter"] == {
        "conjunction": "and",
        "clauses": [{"property": "model", "operator": "eq", "value": "gpt"}],
    }
    assert after["aggregation"] == {"func": "sum", "property": "tokens"}
    assert after["event_name"] == "llm_call"
    # The edit form shows the stored filter back as it was typed.
    again = dash.get(f"/dashboard/meters/{meter}/edit").text
    assert 'value="model"' in again and 'value="gpt"' in again

    # Once events of the name are stored, filter and aggregation are frozen: the service's
    # error shows next to the field, while other fields still change.
    event = {
        "identifier": "frozen-1",
        "name": "llm_call",
        "external_customer_id": "someone",
        "properties": {"model": "gpt", "tokens": 12},
    }
    _api(dash, "POST", "/v1/events/ingest", json={"events": [event]})
    frozen = _edit_meter(dash, meter, aggregation_property="other")
    assert frozen.status_code == 422
    assert "cannot change once events" in _error(frozen.text, "aggregation_property")
    assert _api(dash, "GET", f"/v1/meters/{meter}")["aggregation"]["property"] == "tokens"
    renamed = _edit_meter(dash, meter, name="Tokens")
    assert renamed.status_code == 303, renamed.text
    assert _api(dash, "GET", f"/v1/meters/{meter}")["name"] == "Tokens"


def test_edit_meter_errors_are_inline_and_store_nothing(signed_in: Callable[..., Dash]) -> None:
    dash = signed_in()
    meter = _meter(dash)
    before = _api(dash, "GET", f"/v1/meters/{meter}")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"name": ""}, "name", "at least 1 character"),
        ({"rate": "-1"}, "rate", "must not be negative"),
        ({"aggregation_property": ""}, "aggregation_property", "sum needs a property"),
        ({"metadata": "3"}, "metadata", "must be a JSON object"),
        (
            {"filter_property": ["bad path!"], "filter_operator": ["eq"], "filter_value": ["1"]},
            "filter",
            "should match pattern",
        ),
    ]
    for fields, field, message in cases:
        response = _edit_meter(dash, meter, **fields)
        assert response.status_code == 422, (fields, response.text[:500])
        assert message in _error(response.text, field), (fields, response.text[:1500])
    assert _api(dash, "GET", f"/v1/meters/{meter}") == before


def test_edits_need_a_write_key_csrf_and_the_same_organization(
    signed_in: Callable[..., Dash],
) -> None:
    writer = signed_in()
    customer = _customer(writer)
    meter = _meter(writer)
    reader = signed_in(scope="read", organization_id=writer.key.tenant.organization_id)
    for path, label in (
        (f"/dashboard/customers/{customer}", "Edit customer"),
        (f"/dashboard/meters/{meter}", "Edit meter"),
    ):
        assert label in writer.get(path).text
        assert label not in reader.get(path).text
        assert reader.get(path + "/edit").status_code == 403
    writes = [
        (f"/dashboard/customers/{customer}", {"name": "Changed", "email": "c@example.com"}),
        (f"/dashboard/meters/{meter}", {"name": "Changed", "aggregation_func": "count"}),
    ]
    other = signed_in()
    for url, data in writes:
        refused = reader.post(url, data)
        assert refused.status_code == 403 and "read-only" in refused.text
        for token in (None, "wrong-token"):
            body = dict(data) if token is None else {**data, "csrf_token": token}
            response = writer.client.post(url, data=body, follow_redirects=False)
            assert response.status_code == 403 and "CSRF" in response.text
        assert other.post(url, data).status_code == 404
        assert other.get(url + "/edit").status_code == 404
    assert _api(writer, "GET", f"/v1/customers/{customer}")["name"] == "Ada"
    assert _api(writer, "GET", f"/v1/meters/{meter}")["name"] == "API usage"
