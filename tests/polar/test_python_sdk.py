"""Polar's official Python SDK (``polar-sdk``, pinned in the dev extra) against a live
drawdown server: ``Polar(access_token=key, server_url="http://127.0.0.1:PORT/polar")``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from polar_sdk import Polar, models

from tests.polar.conftest import LiveServer, PolarKey


@pytest.fixture
def polar(live_server: LiveServer, polar_key: PolarKey) -> Iterator[Polar]:
    with Polar(access_token=polar_key.secret, server_url=live_server.polar_url) as client:
        yield client


def test_customer_lifecycle(polar: Polar, polar_key: PolarKey) -> None:
    created = polar.customers.create(
        request={
            "email": "user@example.com",
            "name": "John Doe",
            "external_id": "user_123",
            "metadata": {"plan": "pro", "seats": 3},
        }
    )
    assert isinstance(created, models.CustomerIndividual)
    assert created.external_id == "user_123" and created.email == "user@example.com"
    assert created.organization_id == str(polar_key.tenant.organization_id)
    assert created.metadata == {"plan": "pro", "seats": 3}
    assert created.modified_at is None

    assert polar.customers.get(id=created.id) == created
    assert polar.customers.get_external(external_id="user_123") == created

    renamed = polar.customers.update(id=created.id, customer_update={"name": "Jane Doe"})
    assert renamed.name == "Jane Doe" and renamed.billing_name == "Jane Doe"
    assert renamed.modified_at is not None and renamed.email == "user@example.com"
    retagged = polar.customers.update_external(
        external_id="user_123", customer_update_external_id={"metadata": {"plan": "team"}}
    )
    assert retagged.metadata == {"plan": "team"} and retagged.name == "Jane Doe"

    polar.customers.delete_external(external_id="user_123")
    with pytest.raises(models.ResourceNotFound) as missing:
        polar.customers.get(id=created.id)
    assert missing.value.data.ERROR == "ResourceNotFound"
    with pytest.raises(models.ResourceNotFound):
        polar.customers.delete(id=created.id)


def test_duplicate_external_id_is_a_422_the_sdk_parses(polar: Polar) -> None:
    polar.customers.create(request={"email": "a@example.com", "external_id": "dup"})
    with pytest.raises(models.HTTPValidationError) as invalid:
        polar.customers.create(request={"email": "b@example.com", "external_id": "dup"})
    detail = invalid.value.data.detail
    assert detail is not None and len(detail) == 1
    assert detail[0].loc == ["body", "external_id"]
    assert detail[0].msg == "A customer with this external ID already exists."
    assert invalid.value.status_code == 422


def test_customer_pages_with_next(polar: Polar) -> None:
    made = [
        polar.customers.create(
            request={"email": f"user{i}@example.com", "external_id": f"ext-{i}"}
        ).id
        for i in range(7)
    ]
    page = polar.customers.list(limit=3)
    seen: list[str] = []
    pages = 0
    while page is not None:
        pages += 1
        assert page.result.pagination.total_count == 7
        assert page.result.pagination.max_page == 3
        seen += [customer.id for customer in page.result.items]
        page = page.next()
    assert pages == 3
    assert seen == list(reversed(made))  # newest first, as Polar sorts by default

    by_email = polar.customers.list(email="user4@example.com")
    assert by_email is not None
    assert [c.id for c in by_email.result.items] == [made[4]]
    oldest_first = polar.customers.list(sorting=[models.CustomerSortProperty.CREATED_AT])
    assert oldest_first is not None
    assert [c.id for c in oldest_first.result.items] == made


def test_delete_by_id_and_reuse_external_id(polar: Polar) -> None:
    first = polar.customers.create(request={"email": "x@example.com", "external_id": "again"})
    polar.customers.delete(id=first.id)
    with pytest.raises(models.ResourceNotFound):
        polar.customers.get_external(external_id="again")
    second = polar.customers.create(request={"email": "x@example.com", "external_id": "again"})
    assert second.id != first.id
