"""The Polar dialect's customers on the wire (in-process): shapes, status codes, errors."""

from __future__ import annotations

from typing import Any

CUSTOMER_KEYS = {
    "id", "created_at", "modified_at", "metadata", "external_id", "email", "email_verified",
    "type", "name", "billing_name", "billing_address", "tax_id", "locale", "organization_id",
    "default_payment_method_id", "deleted_at", "first_user_event_at", "avatar_url",
}  # fmt: skip


def test_customer_shape_and_plain_uuid_ids(api: Any) -> None:
    created = api.ok(
        "POST",
        "/polar/v1/customers/",
        201,
        json={"email": "ann@example.com", "name": "Ann", "external_id": "u1", "locale": "en"},
        headers={"Polar-Version": "2026-04"},
    )
    assert set(created) == CUSTOMER_KEYS
    native = api.ok("GET", "/v1/customers/external/u1")
    assert native["id"] == "cus_" + created["id"].replace("-", "")
    assert created["organization_id"] == str(api.tenant.organization_id)
    assert created["created_at"].endswith("Z") and created["modified_at"] is None
    assert created["type"] == "individual" and created["email_verified"] is False
    # Payment details are accepted but not kept.
    assert created["locale"] is None and created["billing_address"] is None


def test_customer_without_email_reads_as_team(api: Any) -> None:
    native = api.ok("POST", "/v1/customers", 201, json={"external_id": "no-mail"})
    polar = api.ok("GET", "/polar/v1/customers/external/no-mail")
    assert polar["type"] == "team" and polar["email"] is None
    assert polar["id"].replace("-", "") == native["id"].removeprefix("cus_")
    # Polar lets a team customer be created without an email, too.
    team = api.ok("POST", "/polar/v1/customers/", 201, json={"type": "team", "name": "Ops"})
    assert team["type"] == "team" and team["name"] == "Ops"


def test_validation_errors_use_polars_shape(api: Any) -> None:
    missing = api.post("/polar/v1/customers/", json={"name": "No email"})
    assert missing.status_code == 422
    body = missing.json()
    assert body["error"] == "RequestValidationError"
    assert body["detail"][0]["loc"] == ["body", "individual", "email"]
    assert body["detail"][0]["type"] == "missing" and body["detail"][0]["msg"] == "Field required"

    org = api.post("/polar/v1/customers/", json={"email": "a@example.com", "organization_id": "x"})
    assert org.status_code == 422
    assert org.json() == {
        "error": "PolarRequestValidationError",
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "organization_id"],
                "msg": "Setting organization_id is disallowed when using an organization token.",
                "input": None,
            }
        ],
    }
    # An external_id, once set, cannot change (Polar's rule, and drawdown's).
    created = api.ok(
        "POST", "/polar/v1/customers/", 201, json={"email": "b@example.com", "external_id": "e1"}
    )
    changed = api.patch(f"/polar/v1/customers/{created['id']}", json={"external_id": "e2"})
    assert changed.status_code == 422 and changed.json()["detail"][0]["loc"] == [
        "body",
        "external_id",
    ]


def test_auth_and_not_found_bodies(api: Any, make_api: Any) -> None:
    anonymous = api.client.get("/polar/v1/customers/")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "Unauthorized"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    bad = api.client.get("/polar/v1/customers/", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "Unauthorized"

    reader = make_api(scope="read")
    denied = reader.post("/polar/v1/customers/", json={"email": "c@example.com"})
    assert denied.status_code == 403 and denied.json()["error"] == "NotPermitted"

    missing = api.get("/polar/v1/customers/0199a3b4-0000-7000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"] == "ResourceNotFound" and isinstance(
        missing.json()["detail"], str
    )
    assert api.get("/polar/v1/customers/external/nobody").status_code == 404
    assert api.delete("/polar/v1/customers/external/nobody").status_code == 404


def test_tenants_do_not_see_each_other(make_api: Any) -> None:
    a, b = make_api(), make_api()
    created = a.ok(
        "POST", "/polar/v1/customers/", 201, json={"email": "a@example.com", "external_id": "same"}
    )
    assert b.get(f"/polar/v1/customers/{created['id']}").status_code == 404
    b.ok(
        "POST", "/polar/v1/customers/", 201, json={"email": "a@example.com", "external_id": "same"}
    )
    assert b.ok("GET", "/polar/v1/customers/")["pagination"]["total_count"] == 1


def test_pagination_limits_and_search(api: Any) -> None:
    for i in range(3):
        api.ok(
            "POST",
            "/polar/v1/customers/",
            201,
            json={"email": f"p{i}@example.com", "name": f"Person {i}"},
        )
    capped = api.ok("GET", "/polar/v1/customers/?limit=1000")
    assert capped["pagination"] == {"total_count": 3, "max_page": 1}
    beyond = api.ok("GET", "/polar/v1/customers/?page=9&limit=2")
    assert beyond == {"items": [], "pagination": {"total_count": 3, "max_page": 2}}
    for query in ("page=0", "limit=0", "sorting=-nope"):
        response = api.get(f"/polar/v1/customers/?{query}")
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["loc"][0] == "query"
    found = api.ok("GET", "/polar/v1/customers/?query=person 1")
    assert [c["email"] for c in found["items"]] == ["p1@example.com"]
    by_name = api.ok("GET", "/polar/v1/customers/?sorting=-name")
    assert [c["name"] for c in by_name["items"]] == ["Person 2", "Person 1", "Person 0"]


def test_idempotency_key_on_create(api: Any) -> None:
    headers = {"Idempotency-Key": "polar-create-1"}
    first = api.post("/polar/v1/customers/", json={"email": "i@example.com"}, headers=headers)
    again = api.post("/polar/v1/customers/", json={"email": "i@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert api.ok("GET", "/polar/v1/customers/")["pagination"]["total_count"] == 1


def test_metadata_filters_are_refused_not_ignored(api: Any) -> None:
    for path in ("/polar/v1/customers/", "/polar/v1/meters/", "/polar/v1/events/"):
        response = api.get(path + "?metadata[plan]=pro")
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["loc"] == ["query", "metadata[plan]"]
