"""API keys: 401 for missing or unknown keys, 403 for scopes, isolation by org and mode."""

from __future__ import annotations

import base64
from typing import Any

from drawdown.keys import service as keys
from tests.test_errors import assert_problem


def test_missing_and_unknown_key(test_client: Any) -> None:
    response = test_client.get("/v1/customers")
    assert_problem(response, 401, "missing_api_key")
    assert response.headers["www-authenticate"] == "Bearer"
    response = test_client.get("/v1/customers", headers={"Authorization": "Bearer dd_test_nope"})
    assert_problem(response, 401, "invalid_api_key")
    response = test_client.get("/v1/customers", headers={"Authorization": "Basic abc"})
    assert_problem(response, 401, "invalid_api_key")
    response = test_client.get("/v1/customers", headers={"Authorization": "Token abc"})
    assert_problem(response, 401, "missing_api_key")


def _basic(user: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_http_basic_with_the_key_as_user_name(make_api: Any, database: Any) -> None:
    """Stripe's curl -u KEY: convention, on every surface, with the Bearer key rules."""
    api = make_api(scope="read")
    client = api.client
    created = api.ok("GET", "/v1/customers")
    for path in ("/v1/customers", "/polar/v1/customers/", "/paymentkit/api/meters?livemode=false"):
        assert client.get(path, headers=_basic(api.secret)).status_code == 200, path
        # The password is not used (curl -u KEY: sends an empty one).
        assert client.get(path, headers=_basic(api.secret, "x")).status_code == 200, path
    assert client.get("/v1/customers", headers=_basic(api.secret)).json() == created
    assert_problem(
        client.get("/v1/customers", headers=_basic("dd_test_nope")), 401, "invalid_api_key"
    )
    assert_problem(
        client.get("/v1/customers", headers=_basic("", api.secret)), 401, "missing_api_key"
    )
    # Scope and mode rules are the key's, as with Bearer.
    assert_problem(
        client.post("/v1/customers", json={}, headers=_basic(api.secret)), 403, "insufficient_scope"
    )
    live = client.get("/paymentkit/api/meters?livemode=true", headers=_basic(api.secret))
    assert (live.status_code, live.json()["code"]) == (400, "livemode_mismatch")
    with database.write() as conn:
        row = next(
            k for k in keys.list_keys(conn) if k.organization_id == api.tenant.organization_id
        )
        keys.revoke_key(conn, row.id)
    assert_problem(client.get("/v1/customers", headers=_basic(api.secret)), 401, "invalid_api_key")


def test_read_scope_cannot_write(make_api: Any) -> None:
    reader = make_api(scope="read")
    assert reader.get("/v1/customers").status_code == 200
    assert_problem(reader.post("/v1/customers", json={}), 403, "insufficient_scope")


def test_ingest_scope_reads_but_cannot_create_customers(make_api: Any) -> None:
    ingester = make_api(scope="ingest")
    assert ingester.get("/v1/customers").status_code == 200
    assert_problem(ingester.post("/v1/customers", json={}), 403, "insufficient_scope")


def test_revoked_key_is_refused(make_api: Any, database: Any) -> None:
    api = make_api()
    assert api.get("/v1/customers").status_code == 200
    with database.read() as conn:
        key_row = next(
            k for k in keys.list_keys(conn) if k.organization_id == api.tenant.organization_id
        )
    with database.write() as conn:
        keys.revoke_key(conn, key_row.id)
    assert_problem(api.get("/v1/customers"), 401, "invalid_api_key")


def test_keys_are_stored_hashed(api: Any, database: Any) -> None:
    with database.read() as conn:
        rows = keys.list_keys(conn)
    assert rows and all(api.secret not in (r.secret_sha256, r.display_prefix) for r in rows)
    assert all(len(r.secret_sha256) == 64 for r in rows)


def test_organizations_do_not_see_each_other(make_api: Any) -> None:
    a, b = make_api(), make_api()
    created = a.ok("POST", "/v1/customers", 201, json={"external_id": "same", "name": "A"})
    assert b.get(f"/v1/customers/{created['id']}").status_code == 404
    assert b.get("/v1/customers/external/same").status_code == 404
    assert b.ok("GET", "/v1/customers")["data"] == []
    # The same external_id is free in another organization.
    b.ok("POST", "/v1/customers", 201, json={"external_id": "same", "name": "B"})


def test_test_mode_never_sees_live_data(make_api: Any) -> None:
    live = make_api(mode="live")
    test = make_api(mode="test", organization_id=live.tenant.organization_id)
    created = live.ok("POST", "/v1/customers", 201, json={"external_id": "u"})
    assert created["livemode"] is True
    assert test.get(f"/v1/customers/{created['id']}").status_code == 404
    assert test.ok("GET", "/v1/customers")["data"] == []
    assert test.ok("POST", "/v1/customers", 201, json={"external_id": "u"})["livemode"] is False


def test_bootstrap_only_on_empty_database(database: Any) -> None:
    with database.write() as conn:
        first = keys.bootstrap(conn)
    with database.write() as conn:
        second = keys.bootstrap(conn)
    assert first is not None and first.tenant.mode == "test" and first.scope == "full"
    assert second is None
