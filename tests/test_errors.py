"""The one error shape (RFC 9457 problem details with a stable code), for every kind of failure."""

from __future__ import annotations

from typing import Any

PROBLEM_KEYS = {"type", "title", "status", "code", "detail"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_validation_error_shape_is_pinned(api: Any) -> None:
    response = api.post("/v1/customers", json={"email": 12, "metadata": {"k": [1]}})
    body = assert_problem(response, 422, "validation_error")
    assert set(body) == PROBLEM_KEYS | {"errors"}
    locs = [tuple(err["loc"]) for err in body["errors"]]
    assert ("body", "email") in locs
    assert all(set(err) == {"loc", "msg"} for err in body["errors"])


def test_malformed_json(api: Any) -> None:
    response = api.post(
        "/v1/customers", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, "validation_error")
    assert "JSON" in body["errors"][0]["msg"]


def test_wrong_type_and_unknown_field(api: Any) -> None:
    body = assert_problem(
        api.post("/v1/customers", json={"name": ["x"], "colour": "red"}), 422, "validation_error"
    )
    locs = {tuple(err["loc"]) for err in body["errors"]}
    assert {("body", "name"), ("body", "colour")} <= locs


def test_body_too_large(api: Any) -> None:
    big = b'{"name": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    response = api.post("/v1/customers", content=big, headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


def test_unknown_route_and_method(api: Any) -> None:
    assert_problem(api.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(api.request("PUT", "/v1/customers"), 405, "method_not_allowed")


def test_unknown_id(api: Any) -> None:
    assert_problem(api.get("/v1/customers/cus_0000"), 404, "not_found")
    assert_problem(api.get("/v1/customers/not-an-id"), 404, "not_found")
    assert_problem(api.get("/v1/customers/cus_" + "0" * 32), 404, "not_found")


def test_conflict(api: Any) -> None:
    api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    assert_problem(api.post("/v1/customers", json={"external_id": "u1"}), 409, "external_id_taken")


def test_bad_query_parameter(api: Any) -> None:
    assert_problem(api.get("/v1/customers?limit=abc"), 422, "validation_error")
    assert_problem(api.get("/v1/customers?limit=0"), 422, "validation_error")
    assert_problem(api.get("/v1/customers?starting_after=zzz"), 422, "validation_error")
