"""The per-process authentication cache that lets hot endpoints skip the key lookup."""

from __future__ import annotations

from typing import Any

from drawdown.keys import service as keys
from drawdown.keys import store


def test_a_key_is_cached_only_once_authenticated(make_api: Any, database: Any) -> None:
    api = make_api()
    assert keys.cached_principal("dd_test_not-a-key") is None
    assert api.get("/v1/customers").status_code == 200
    principal = keys.cached_principal(api.secret)
    assert principal is not None
    assert principal.tenant == api.tenant and principal.scope == "full"


def test_revoking_through_the_service_empties_the_cache(make_api: Any, database: Any) -> None:
    api = make_api()
    assert api.get("/v1/customers").status_code == 200
    assert keys.cached_principal(api.secret) is not None
    with database.read() as conn:
        row = store.find_key_by_hash(conn, keys._hash(api.secret))
    with database.write() as conn:
        keys.revoke_key(conn, row.id)
    assert keys.cached_principal(api.secret) is None
    assert api.get("/v1/customers").status_code == 401
