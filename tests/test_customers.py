from __future__ import annotations

from typing import Any

from tests.test_errors import assert_problem


def test_create_retrieve_update_delete(api: Any) -> None:
    created = api.ok(
        "POST",
        "/v1/customers",
        201,
        json={
            "email": "ann@example.com",
            "name": "Ann",
            "external_id": "u1",
            "metadata": {"plan": "pro"},
        },
    )
    assert created["id"].startswith("cus_") and created["object"] == "customer"
    assert api.ok("GET", f"/v1/customers/{created['id']}") == created
    assert api.ok("GET", "/v1/customers/external/u1") == created

    updated = api.ok("PATCH", f"/v1/customers/{created['id']}", json={"name": "Ann B"})
    assert updated["name"] == "Ann B" and updated["email"] == "ann@example.com"
    by_ext = api.ok("PATCH", "/v1/customers/external/u1", json={"metadata": {"seats": 3}})
    assert by_ext["metadata"] == {"seats": 3}

    api.ok("DELETE", "/v1/customers/external/u1", 204)
    assert_problem(api.get(f"/v1/customers/{created['id']}"), 404, "not_found")
    assert_problem(api.delete(f"/v1/customers/{created['id']}"), 404, "not_found")
    # A deleted customer's external_id can be used again.
    again = api.ok("POST", "/v1/customers", 201, json={"external_id": "u1"})
    assert again["id"] != created["id"]


def test_external_id_is_fixed_once_set(api: Any) -> None:
    created = api.ok("POST", "/v1/customers", 201, json={"name": "No ext"})
    set_once = api.ok("PATCH", f"/v1/customers/{created['id']}", json={"external_id": "x1"})
    assert set_once["external_id"] == "x1"
    body = assert_problem(
        api.patch(f"/v1/customers/{created['id']}", json={"external_id": "x2"}),
        422,
        "validation_error",
    )
    assert body["errors"][0]["loc"] == ["body", "external_id"]


def test_metadata_limits(api: Any) -> None:
    too_many = {f"k{i}": i for i in range(51)}
    for metadata in (too_many, {"k" * 41: 1}, {"k": "v" * 501}, {"k": {"nested": 1}}, {"": 1}):
        response = api.post("/v1/customers", json={"metadata": metadata})
        assert_problem(response, 422, "validation_error")
    ok = {f"k{i}": "v" * 500 for i in range(50)}
    assert api.ok("POST", "/v1/customers", 201, json={"metadata": ok})["metadata"] == ok


def test_list_filters_and_pagination(api: Any) -> None:
    ids = [
        api.ok(
            "POST",
            "/v1/customers",
            201,
            json={"email": f"user{i}@example.com", "name": f"User {i}", "external_id": f"ext-{i}"},
        )["id"]
        for i in range(7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&starting_after={cursor}" if cursor else "")
        page = api.ok("GET", "/v1/customers" + query)
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == list(reversed(ids))  # newest first, every item once

    assert [c["id"] for c in api.ok("GET", "/v1/customers?email=user3@example.com")["data"]] == [
        ids[3]
    ]
    assert [c["id"] for c in api.ok("GET", "/v1/customers?external_id=ext-5")["data"]] == [ids[5]]
    assert [c["id"] for c in api.ok("GET", "/v1/customers?q=USER 2")["data"]] == [ids[2]]
    assert len(api.ok("GET", "/v1/customers?q=example.com&limit=100")["data"]) == 7


def test_idempotency_key_replays_and_conflicts(api: Any) -> None:
    headers = {"Idempotency-Key": "create-ann-1"}
    first = api.post("/v1/customers", json={"name": "Ann"}, headers=headers)
    replay = api.post("/v1/customers", json={"name": "Ann"}, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(api.ok("GET", "/v1/customers")["data"]) == 1

    different = api.post("/v1/customers", json={"name": "Bob"}, headers=headers)
    assert_problem(different, 409, "idempotency_key_reused")
    assert len(api.ok("GET", "/v1/customers")["data"]) == 1


def test_idempotency_key_is_per_tenant(make_api: Any) -> None:
    a, b = make_api(), make_api()
    headers = {"Idempotency-Key": "same-key"}
    ca = a.ok("POST", "/v1/customers", 201, json={"name": "A"}, headers=headers)
    cb = b.ok("POST", "/v1/customers", 201, json={"name": "A"}, headers=headers)
    assert ca["id"] != cb["id"]


def test_failed_create_does_not_burn_the_key(api: Any) -> None:
    api.ok("POST", "/v1/customers", 201, json={"external_id": "dup"})
    headers = {"Idempotency-Key": "k"}
    assert (
        api.post("/v1/customers", json={"external_id": "dup"}, headers=headers).status_code == 409
    )
    api.ok("DELETE", "/v1/customers/external/dup", 204)
    # The 409 was not stored, so the same key and body now succeed.
    assert (
        api.post("/v1/customers", json={"external_id": "dup"}, headers=headers).status_code == 201
    )
