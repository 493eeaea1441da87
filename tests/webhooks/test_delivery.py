"""Events reach a real receiver, signed so that the standardwebhooks library verifies them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant
from drawdown.webhooks.worker import Deliverer
from tests.dialects.test_query_counts import counted
from tests.webhooks.conftest import add_endpoint, drain
from tests.webhooks.receiver import Receiver


def _seed(api: Any) -> dict[str, Any]:
    customer = api.ok("POST", "/v1/customers", 201, json={"external_id": "wh-c1", "name": "A"})
    api.ok("PATCH", f"/v1/customers/{customer['id']}", json={"name": "B"})
    currency = api.ok(
        "POST", "/v1/currencies", 201, json={"name": "Credits", "symbol": "cr", "decimals": 2}
    )
    meter = api.ok(
        "POST",
        "/v1/meters",
        201,
        json={
            "name": "Calls",
            "event_name": "calls",
            "aggregation": {"func": "sum", "property": "units"},
            "currency_id": currency["id"],
        },
    )
    grant = api.ok(
        "POST",
        "/v1/credit-grants",
        201,
        json={"customer_id": customer["id"], "currency_id": currency["id"], "amount": "10.00"},
    )
    event = {"name": "calls", "external_customer_id": "wh-c1", "properties": {"units": 15}}
    api.ok("POST", "/v1/events/ingest", json={"events": [{"identifier": "e1", **event}]})
    return {"customer": customer, "currency": currency, "meter": meter, "grant": grant}


def test_every_change_is_delivered_and_verifies(
    api: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/all")
    seeded = _seed(api)
    api.ok("DELETE", f"/v1/customers/{seeded['customer']['id']}", 204)
    drain(deliverer)

    # Attempts run in parallel: order by the (time-ordered) event id.
    got = sorted(receiver.at("/all"), key=lambda d: d.webhook_id)
    assert receiver.unverified == []
    assert [d.type for d in got] == [
        "customer.created",
        "customer.updated",
        "meter.created",
        "credit_grant.created",
        "credit_grant.depleted",
        "credit.debt_incurred",
        "credit.balance_depleted",
        "customer.deleted",
    ]
    for delivery in got:
        payload = delivery.payload
        assert payload["id"] == delivery.webhook_id and payload["id"].startswith("msg_")
        assert set(payload) == {"id", "type", "timestamp", "data"}
    by_type = {d.type: d.payload["data"] for d in got}
    grant = by_type["credit_grant.created"]
    assert grant["grant_id"] == seeded["grant"]["id"]
    assert grant["amount"] == "10.00" and grant["external_customer_id"] == "wh-c1"
    depleted = by_type["credit.balance_depleted"]
    assert depleted["previous_balance"] == "10.00" and depleted["balance"] == "-5.00"
    assert depleted["ledger_sequence"] == 3  # grant, consumption, debt
    assert by_type["credit.debt_incurred"]["debt"] == "5.00"
    assert by_type["meter.created"]["id"] == seeded["meter"]["id"]

    # The log and the attempts say the same.
    log = api.ok("GET", "/v1/webhooks/events", params={"limit": 100})["data"]
    assert sorted(e["id"] for e in log) == sorted(d.webhook_id for d in got)
    attempts = api.ok("GET", "/v1/webhooks/deliveries", params={"limit": 100})["data"]
    assert len(attempts) == len(got)
    assert all(a["succeeded"] and a["http_code"] == 200 and a["response"] == "ok" for a in attempts)
    only = api.ok("GET", "/v1/webhooks/events", params={"type": "meter.created"})["data"]
    assert [e["type"] for e in only] == ["meter.created"]


def test_endpoints_receive_only_their_types(
    api: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/grants", ["credit_grant.created"])
    add_endpoint(api, receiver, "/customers", ["customer.created", "customer.deleted"])
    add_endpoint(api, receiver, "/off", ["*"], enabled=False)
    _seed(api)
    drain(deliverer)
    assert [d.type for d in receiver.at("/grants")] == ["credit_grant.created"]
    assert [d.type for d in receiver.at("/customers")] == ["customer.created"]
    assert receiver.at("/off") == []


def test_a_failed_change_emits_nothing(api: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    add_endpoint(api, receiver, "/all")
    api.ok("POST", "/v1/customers", 201, json={"external_id": "dup"})
    api.ok("POST", "/v1/customers", 409, json={"external_id": "dup"})
    api.ok("POST", "/v1/credit-grants", 422, json={"external_customer_id": "dup", "amount": "x"})
    drain(deliverer)
    assert [d.type for d in receiver.at("/all")] == ["customer.created"]
    assert len(api.ok("GET", "/v1/webhooks/events")["data"]) == 1


def test_tenants_and_modes_are_separate(
    api: Any, make_api: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/mine")
    other = make_api()
    same_org_live = make_api(mode="live", organization_id=api.tenant.organization_id)
    other.ok("POST", "/v1/customers", 201, json={"external_id": "theirs"})
    same_org_live.ok("POST", "/v1/customers", 201, json={"external_id": "live"})
    api.ok("POST", "/v1/customers", 201, json={"external_id": "mine"})
    drain(deliverer)
    assert [d.payload["data"]["external_id"] for d in receiver.at("/mine")] == ["mine"]
    assert other.ok("GET", "/v1/webhooks/endpoints")["data"] == []
    assert len(other.ok("GET", "/v1/webhooks/events")["data"]) == 1


def test_endpoint_api(api: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    created = add_endpoint(api, receiver, "/x", ["customer.created"], description="main")
    assert created["secret"].startswith("whsec_")
    endpoint_id = created["id"]
    shown = api.ok("GET", f"/v1/webhooks/endpoints/{endpoint_id}")
    assert "secret" not in shown and shown["description"] == "main"
    listed = api.ok("GET", "/v1/webhooks/endpoints")["data"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    patched = api.ok(
        "PATCH", f"/v1/webhooks/endpoints/{endpoint_id}", json={"event_types": ["meter.created"]}
    )
    assert patched["event_types"] == ["meter.created"]
    assert not api.ok("POST", f"/v1/webhooks/endpoints/{endpoint_id}/disable")["enabled"]
    assert api.ok("POST", f"/v1/webhooks/endpoints/{endpoint_id}/enable")["enabled"]

    sent = api.ok("POST", f"/v1/webhooks/endpoints/{endpoint_id}/test", 202)
    drain(deliverer)
    assert [(d.type, d.webhook_id) for d in receiver.at("/x")] == [("webhook.test", sent["id"])]

    bad = api.post(
        "/v1/webhooks/endpoints", json={"url": receiver.url("/y"), "event_types": ["nope"]}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "event_types"]
    bad = api.post("/v1/webhooks/endpoints", json={"url": "ftp://h/x", "event_types": ["*"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "url"]
    assert api.get("/v1/webhooks/endpoints/whe_nothing").status_code == 404

    api.ok("DELETE", f"/v1/webhooks/endpoints/{endpoint_id}", 204)
    assert api.get(f"/v1/webhooks/endpoints/{endpoint_id}").status_code == 404
    assert api.ok("GET", "/v1/webhooks/endpoints")["data"] == []


def test_private_destinations_are_refused_by_default(database: Any, clock: Any) -> None:
    """No request is made: the URLs are refused when saved."""
    settings = Settings(
        database_url=database.url,
        run_clock_in_server=False,
        run_webhooks_in_server=False,
        webhook_allow_private=False,  # the default (the test session's env allows it)
    )
    with database.write() as conn:
        org = keys.create_organization(conn, "ssrf")
        secret = keys.create_key(conn, Tenant(org, "test"), "full").secret
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        for url in (
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://169.254.169.254/latest",
            "http://[::1]:9/hook",
            "http://[::ffff:10.0.0.1]/hook",
        ):
            response = client.post(
                "/v1/webhooks/endpoints", json={"url": url, "event_types": ["*"]}, headers=headers
            )
            assert response.status_code == 422, url
            assert "DRAWDOWN_WEBHOOK_ALLOW_PRIVATE" in response.json()["errors"][0]["msg"]
        assert client.get("/v1/webhooks/endpoints", headers=headers).json()["data"] == []


def _pass_statements(api: Any, deliverer: Deliverer, database: Any, customers: int) -> list[str]:
    for index in range(customers):
        api.ok("POST", "/v1/customers", 201, json={"external_id": f"n{customers}-{index}"})
    with counted(database) as statements:
        assert deliverer.run_once() == customers  # fanned out and sent in this pass
    return statements


def test_a_delivery_pass_costs_the_same_statements_whatever_it_carries(
    api: Any, receiver: Receiver, deliverer: Deliverer, database: Any
) -> None:
    """Fan-out, first attempts and their outcomes are multi-row statements: a pass of 12
    events to two endpoints runs exactly the statements of a pass of 2."""
    add_endpoint(api, receiver, "/x", ["customer.created"])
    add_endpoint(api, receiver, "/y", ["customer.created"])
    drain(deliverer)
    small = _pass_statements(api, deliverer, database, 2)
    large = _pass_statements(api, deliverer, database, 12)
    assert len(receiver.at("/x")) == len(receiver.at("/y")) == 14
    assert receiver.unverified == []
    assert len(large) == len(small), (small, large)
    listed = api.ok("GET", "/v1/webhooks/deliveries", params={"limit": 100})["data"]
    assert len(listed) == 28 and all(a["succeeded"] and a["attempt"] == 1 for a in listed)
