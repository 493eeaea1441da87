"""Polar's official Python SDK (``polar-sdk``, pinned in the dev extra) against a live
drawdown server: ``Polar(access_token=key, server_url="http://127.0.0.1:PORT/polar")``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from polar_sdk import Polar, models

from tests.dialects.polar.conftest import LiveServer, PolarKey


@pytest.fixture
def polar(live_server: LiveServer, polar_key: PolarKey) -> Iterator[Polar]:
    with Polar(access_token=polar_key.secret, server_url=live_server.polar_url) as client:
        yield client


def test_customer_lifecycle(polar: Polar, polar_key: PolarKey) -> None:
    created = polar.customers.create(
        request={
            "type": "individual",
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
    polar.customers.create(
        request={"type": "individual", "email": "a@example.com", "external_id": "dup"}
    )
    with pytest.raises(models.HTTPValidationError) as invalid:
        polar.customers.create(
            request={"type": "individual", "email": "b@example.com", "external_id": "dup"}
        )
    detail = invalid.value.data.detail
    assert detail is not None and len(detail) == 1
    assert detail[0].loc == ["body", "external_id"]
    assert detail[0].msg == "A customer with this external ID already exists."
    assert invalid.value.status_code == 422


def test_customer_pages_with_next(polar: Polar) -> None:
    made = [
        polar.customers.create(
            request={
                "type": "individual",
                "email": f"user{i}@example.com",
                "external_id": f"ext-{i}",
            }
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
    first = polar.customers.create(
        request={"type": "individual", "email": "x@example.com", "external_id": "again"}
    )
    polar.customers.delete(id=first.id)
    with pytest.raises(models.ResourceNotFound):
        polar.customers.get_external(external_id="again")
    second = polar.customers.create(
        request={"type": "individual", "email": "x@example.com", "external_id": "again"}
    )
    assert second.id != first.id


API_USAGE_METER: dict[str, Any] = {
    "name": "API usage",
    "filter_": {
        "conjunction": "and",
        "clauses": [{"property": "name", "operator": "eq", "value": "api_usage"}],
    },
    "aggregation": {"func": "sum", "property": "units"},
}


def native_get(server: LiveServer, key: PolarKey, path: str) -> Any:
    response = httpx.get(server.url + path, headers={"Authorization": f"Bearer {key.secret}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_meter_create_get_list_update(
    polar: Polar, live_server: LiveServer, polar_key: PolarKey
) -> None:
    meter = polar.meters.create(request=models.MeterCreate(**API_USAGE_METER))
    assert isinstance(meter.aggregation, models.PropertyAggregation)
    assert meter.aggregation.func == "sum" and meter.aggregation.property == "units"
    assert meter.filter_.clauses[0].value == "api_usage"  # type: ignore[union-attr]
    assert meter.unit == models.MeterUnit.SCALAR
    assert polar.meters.get(id=meter.id) == meter
    native = native_get(live_server, polar_key, "/v1/meters/api_usage")
    assert native["id"] == "mtr_" + meter.id.replace("-", "")

    renamed = polar.meters.update(
        id=meter.id, meter_update={"name": "API calls", "metadata": {"tier": "all"}}
    )
    assert renamed.name == "API calls" and renamed.metadata == {"tier": "all"}
    listed = polar.meters.list()
    assert listed is not None
    assert [m.id for m in listed.result.items] == [meter.id]
    archived = polar.meters.update(id=meter.id, meter_update={"is_archived": True})
    assert archived.archived_at is not None
    with pytest.raises(models.ResourceNotFound):
        polar.meters.get(id=str(uuid.uuid4()))


def test_grant_by_negative_event_then_consume(
    polar: Polar, live_server: LiveServer, polar_key: PolarKey
) -> None:
    polar.meters.create(request=models.MeterCreate(**API_USAGE_METER))
    polar.customers.create(
        request={
            "type": "individual",
            "email": "user@example.com",
            "name": "John Doe",
            "external_id": "user_123",
        }
    )
    granted = polar.events.ingest(
        request={
            "events": [
                {
                    "name": "api_usage",
                    "external_customer_id": "user_123",
                    "metadata": {"units": -10},
                }
            ]
        }
    )
    assert (granted.inserted, granted.duplicates) == (1, 0)
    balance = native_get(live_server, polar_key, "/v1/customers/external/user_123/balances")[
        "data"
    ][0]
    assert (balance["available"], balance["debt"]) == ("10.00", "0.00")

    used = polar.events.ingest(
        request={
            "events": [
                {
                    "name": "api_usage",
                    "external_customer_id": "user_123",
                    "external_id": "req-1",
                    "metadata": {"units": 3},
                },
                {
                    "name": "api_usage",
                    "external_customer_id": "user_123",
                    "external_id": "req-2",
                    "metadata": {"units": 1.5},
                },
            ]
        }
    )
    assert (used.inserted, used.duplicates) == (2, 0)
    retried = polar.events.ingest(
        request={
            "events": [
                {
                    "name": "api_usage",
                    "external_customer_id": "user_123",
                    "external_id": "req-1",
                    "metadata": {"units": 3},
                }
            ]
        }
    )
    assert (retried.inserted, retried.duplicates) == (0, 1)
    balance = native_get(live_server, polar_key, "/v1/customers/external/user_123/balances")[
        "data"
    ][0]
    assert balance["available"] == "5.50"

    page = polar.customer_meters.list(external_customer_id="user_123")
    assert page is not None and page.result.pagination.total_count == 1
    item = page.result.items[0]
    assert isinstance(item, models.CustomerMeter)
    # What Polar reports after a -10 event and 4.5 units of use.
    assert (item.consumed_units, item.credited_units, item.balance) == (-5.5, 0, 5.5)
    assert item.customer.external_id == "user_123" and item.meter.name == "API usage"
    assert polar.customer_meters.get(id=item.id) == item
    state = polar.customers.get_state_external(external_id="user_123")
    assert isinstance(state, models.CustomerStateIndividual)
    assert state.active_subscriptions == [] and state.granted_benefits == []
    assert [(m.meter_id, m.balance, m.credited_units) for m in state.active_meters] == [
        (item.meter_id, 5.5, 0)
    ]
    assert polar.customers.get_state(id=state.id) == state


def test_ingest_422_is_parsed_by_the_sdk(polar: Polar) -> None:
    with pytest.raises(models.HTTPValidationError) as invalid:
        polar.events.ingest(
            request={
                "events": [
                    {
                        "name": "api_usage",
                        "customer_id": str(uuid.uuid4()),
                        "metadata": {"units": 1},
                    }
                ]
            }
        )
    detail = invalid.value.data.detail
    assert detail is not None
    assert [d.loc for d in detail] == [["body", "events", 0, "customer_id"]]
    listed = polar.events.list()
    assert isinstance(listed, models.ListResourceEvent) and listed.pagination.total_count == 0


def test_events_pages(polar: Polar) -> None:
    polar.customers.create(
        request={"type": "individual", "email": "p@example.com", "external_id": "pager"}
    )
    events: list[models.EventsModelTypedDict] = [
        {
            "name": "page_view",
            "external_customer_id": "pager",
            "external_id": f"view-{i}",
            "metadata": {"n": i},
        }
        for i in range(5)
    ]
    assert polar.events.ingest(request={"events": events}).inserted == 5
    # polar-sdk's events.list has no next(): it pages by number.
    seen: list[Any] = []
    for number in (1, 2, 3):
        page = polar.events.list(limit=2, page=number, sorting=[models.EventSortProperty.TIMESTAMP])
        assert isinstance(page, models.ListResourceEvent)
        assert (page.pagination.total_count, page.pagination.max_page) == (5, 3)
        for event in page.items:
            assert isinstance(event, models.UserEvent)
            seen.append(event.metadata["n"])
    assert seen == [0, 1, 2, 3, 4]
    one = polar.events.list(name=["page_view"], external_customer_id="pager", limit=1)
    assert isinstance(one, models.ListResourceEvent)
    event = polar.events.get(id=one.items[0].id)
    assert isinstance(event, models.UserEvent) and event.customer is not None
    assert event.customer.external_id == "pager"


def test_quantities_by_day(polar: Polar) -> None:
    meter = polar.meters.create(request=models.MeterCreate(**API_USAGE_METER))
    polar.customers.create(
        request={"type": "individual", "email": "q@example.com", "external_id": "q"}
    )
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    noon = today - timedelta(hours=12)  # yesterday 12:00 UTC
    events: list[models.EventsModelTypedDict] = [
        {
            "name": "api_usage",
            "external_customer_id": "q",
            "timestamp": noon - timedelta(days=1),
            "metadata": {"units": 4},
        },
        {
            "name": "api_usage",
            "external_customer_id": "q",
            "timestamp": noon,
            "metadata": {"units": 2},
        },
        {
            "name": "api_usage",
            "external_customer_id": "q",
            "timestamp": noon,
            "metadata": {"units": 1},
        },
        {
            "name": "other",
            "external_customer_id": "q",
            "timestamp": noon,
            "metadata": {"units": 50},
        },
    ]
    assert polar.events.ingest(request={"events": events}).inserted == 4
    result = polar.meters.quantities(
        id=meter.id,
        start_timestamp=today - timedelta(days=3),
        end_timestamp=today - timedelta(days=1),
        interval=models.TimeInterval.DAY,
    )
    assert [(q.timestamp, q.quantity) for q in result.quantities] == [
        (today - timedelta(days=3), 0.0),
        (today - timedelta(days=2), 4.0),
        (today - timedelta(days=1), 3.0),
    ]
    assert result.total == 7.0
    just_q = polar.meters.quantities(
        id=meter.id,
        start_timestamp=today - timedelta(days=1),
        end_timestamp=today - timedelta(days=1),
        interval=models.TimeInterval.DAY,
        external_customer_id="q",
    )
    assert [q.quantity for q in just_q.quantities] == [3.0]


def test_customer_meters_page_with_next(polar: Polar) -> None:
    polar.meters.create(request=models.MeterCreate(**API_USAGE_METER))
    made = [
        polar.customers.create(
            request={"type": "individual", "email": f"m{i}@example.com", "external_id": f"m{i}"}
        ).id
        for i in range(5)
    ]
    page = polar.customer_meters.list(limit=2)
    seen: list[str] = []
    while page is not None:
        assert page.result.pagination.total_count == 5
        seen += [item.customer_id for item in page.result.items]
        page = page.next()
    assert seen == list(reversed(made))
    with pytest.raises(models.ResourceNotFound):
        polar.customer_meters.get(id=str(uuid.uuid4()))
