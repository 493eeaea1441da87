"""The SDK's client core and customers against a real server process, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest

import drawdown


def test_customer_lifecycle(client: drawdown.Client) -> None:
    created = client.customers.create(
        external_id="user_123", email="ann@example.com", name="Ann", metadata={"plan": "pro"}
    )
    assert isinstance(created, drawdown.Customer)
    assert created.id.startswith("cus_") and created.object == "customer"
    assert created.external_id == "user_123" and created.metadata == {"plan": "pro"}
    assert created.livemode is False and isinstance(created.created_at, datetime)
    assert created.created_at.tzinfo is not None

    assert client.customers.get(created.id) == created
    assert client.customers.get_by_external_id("user_123") == created

    renamed = client.customers.update(created.id, name="Ann B")
    assert renamed.name == "Ann B" and renamed.email == "ann@example.com"  # only name changed
    by_ext = client.customers.update_by_external_id("user_123", metadata={"seats": 3})
    assert by_ext.metadata == {"seats": 3} and by_ext.name == "Ann B"

    client.customers.delete_by_external_id("user_123")
    with pytest.raises(drawdown.NotFoundError) as caught:
        client.customers.get(created.id)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    assert caught.value.detail and caught.value.attempts == 1


def test_external_id_needing_escapes(client: drawdown.Client) -> None:
    odd = "user 7?x=1&y#z%20"
    created = client.customers.create(external_id=odd)
    assert client.customers.get_by_external_id(odd).id == created.id
    client.customers.delete_by_external_id(odd)
    with pytest.raises(drawdown.NotFoundError):
        client.customers.get_by_external_id(odd)


def test_list_and_list_all_walk_every_page(client: drawdown.Client) -> None:
    ids = [
        client.customers.create(name=f"User {i}", email=f"u{i}@example.com").id for i in range(7)
    ]
    page = client.customers.list(limit=3)
    assert isinstance(page, drawdown.Page) and page.has_more
    assert [c.id for c in page.data] == ids[::-1][:3]
    after = client.customers.list(limit=3, starting_after=page.data[-1].id)
    assert [c.id for c in after.data] == ids[::-1][3:6]

    assert [c.id for c in client.customers.list_all(limit=2)] == ids[::-1]  # 4 pages of 2
    assert [c.id for c in client.customers.list_all()] == ids[::-1]
    assert [c.id for c in client.customers.list_all(q="User 3")] == [ids[3]]
    assert [c.id for c in client.customers.list_all(email="u5@example.com")] == [ids[5]]
    # Resuming after an id walks the rest.
    assert [c.id for c in client.customers.list_all(limit=2, starting_after=ids[4])] == ids[3::-1]


def test_validation_error_is_typed_with_field_errors(client: drawdown.Client) -> None:
    with pytest.raises(drawdown.ValidationFailedError) as caught:
        client.customers.create(email="not-an-email", metadata={"k" * 41: 1})
    error = caught.value
    assert error.status == 422 and error.code == "validation_error"
    locs = {item.loc for item in error.errors}
    assert ("body", "email") in locs and ("body", "metadata") in locs
    assert all(isinstance(item, drawdown.FieldError) and item.msg for item in error.errors)
    assert error.type.endswith("/validation_error") and error.title


def test_conflict_and_idempotency(client: drawdown.Client) -> None:
    first = client.customers.create(external_id="dup", idempotency_key="create-dup")
    again = client.customers.create(external_id="dup", idempotency_key="create-dup")
    assert again == first  # replayed, not created twice
    assert [c.id for c in client.customers.list_all()] == [first.id]

    with pytest.raises(drawdown.ConflictError) as reused:
        client.customers.create(external_id="other", idempotency_key="create-dup")
    assert reused.value.code == "idempotency_key_reused"
    with pytest.raises(drawdown.ConflictError) as taken:
        client.customers.create(external_id="dup")
    assert taken.value.status == 409


def test_auth_errors(live_url: str, make_key: Callable[..., str]) -> None:
    with (
        drawdown.Client("dd_test_nope", base_url=live_url) as bad,
        pytest.raises(drawdown.AuthenticationError) as caught,
    ):
        bad.customers.list()
    assert caught.value.status == 401
    with drawdown.Client(make_key(scope="read"), base_url=live_url) as reader:
        assert reader.customers.list().data == []
        with pytest.raises(drawdown.PermissionDeniedError) as denied:
            reader.customers.create(name="x")
    assert denied.value.code == "insufficient_scope"


def test_modes_are_separate(live_url: str, make_key: Callable[..., str]) -> None:
    with drawdown.Client(make_key(mode="live"), base_url=live_url) as live:
        created = live.customers.create(name="live one")
        assert created.livemode is True


def test_update_with_none_clears_and_omitted_is_kept(client: drawdown.Client) -> None:
    created = client.customers.create(email="a@example.com", name="A")
    cleared = client.customers.update(created.id, email=None)
    assert cleared.email is None and cleared.name == "A"


def test_async_client_against_live_server(live_url: str, api_key: str) -> None:
    async def scenario() -> list[str]:
        async with drawdown.AsyncClient(api_key, base_url=live_url) as client:
            made = await asyncio.gather(
                *(client.customers.create(external_id=f"a{i}") for i in range(5))
            )
            found = await client.customers.get_by_external_id("a3")
            assert found.id == made[3].id
            with pytest.raises(drawdown.NotFoundError):
                await client.customers.get("cus_0000")
            return [c.id async for c in client.customers.list_all(limit=2)]

    listed = asyncio.run(scenario())
    assert len(listed) == 5 and len(set(listed)) == 5


def test_api_key_and_base_url_from_environment(
    live_url: str, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAWDOWN_API_KEY", api_key)
    monkeypatch.setenv("DRAWDOWN_BASE_URL", live_url + "/")
    with drawdown.Client() as client:
        assert client.base_url == live_url
        assert client.customers.create(name="env").name == "env"
    monkeypatch.delenv("DRAWDOWN_API_KEY")
    with pytest.raises(ValueError, match="DRAWDOWN_API_KEY"):
        drawdown.Client()
