"""Tenant scoping, proved route by route: organization B's key reads nothing of
organization A's, from any list or get of the native API and of both dialects.

Organization A gets one row in every tenant-owned table. Then every GET route of the app is
called twice with the same path and query (A's ids in them): with A's key the answer must
show A's data (so the call really reads it), with B's key it must show none of it (a 404,
or an empty page, or zero totals). The routes and the tables are enumerated from the app
and the schema: a new GET route or a new tenant-owned table without a case here fails."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

from drawdown.db.scope import TENANT_TABLES
from drawdown.keys import service as keys
from drawdown.webhooks.worker import Deliverer
from tests.conftest import Api

PK = "/paymentkit/api"

# Which tenant-owned table each case reads (a case may read several).
CASES: dict[str, tuple[str, ...]] = {
    "GET /v1/currencies": ("currencies",),
    "GET /v1/currencies/{currency_id}": ("currencies",),
    "GET /v1/customers": ("customers",),
    "GET /v1/customers/{customer_id}": ("customers",),
    "GET /v1/customers/external/{external_id}": ("customers",),
    "GET /v1/customers/{customer_id}/access": ("customers", "meters", "credit_accounts"),
    "GET /v1/customers/external/{external_id}/access": ("customers", "credit_grants"),
    "GET /v1/customers/{customer_id}/balances": ("credit_accounts", "credit_grants"),
    "GET /v1/customers/external/{external_id}/balances": ("credit_accounts",),
    "GET /v1/meters": ("meters",),
    "GET /v1/meters/{meter}": ("meters",),
    "GET /v1/meters/{meter}/usage": ("events", "usage_rollups", "usage_rollup_backfills"),
    "GET /v1/events": ("events",),
    "GET /v1/events/{event_id}": ("events",),
    "GET /v1/credit-grants": ("credit_grants",),
    "GET /v1/credit-grants/{grant_id}": ("credit_grants",),
    "GET /v1/credit-transactions": ("ledger_entries",),
    "GET /v1/credit-transactions/{entry_id}": ("ledger_entries",),
    "GET /v1/holds": ("credit_holds",),
    "GET /v1/holds/{hold_id}": ("credit_holds",),
    "GET /v1/customers/{customer_id}/holds": ("customers", "credit_holds"),
    "GET /polar/v1/customers/": ("customers",),
    "GET /polar/v1/customers/{id}": ("customers",),
    "GET /polar/v1/customers/external/{external_id}": ("customers",),
    "GET /polar/v1/customers/{id}/state": ("customers", "credit_accounts"),
    "GET /polar/v1/customers/external/{external_id}/state": ("customers",),
    "GET /polar/v1/customer-meters/": ("customers", "meters", "credit_accounts"),
    "GET /polar/v1/customer-meters/{id}": ("customers", "meters"),
    "GET /polar/v1/meters/": ("meters",),
    "GET /polar/v1/meters/{id}": ("meters",),
    "GET /polar/v1/meters/{id}/quantities": ("meters", "events"),
    "GET /polar/v1/events/": ("events",),
    "GET /polar/v1/events/{id}": ("events",),
    f"GET {PK}/meters": ("meters",),
    f"GET {PK}/meters/{{id_or_event_name}}": ("meters",),
    f"GET {PK}/meter-events": ("events",),
    f"GET {PK}/meter-events/{{event_id}}": ("events", "ledger_entries"),
    f"GET {PK}/meter-events/pending-amount": ("credit_accounts",),
    f"GET {PK}/credit-grants": ("credit_grants",),
    f"GET {PK}/credit-grants/{{grant_id}}": ("credit_grants",),
    f"GET {PK}/credit-grants/summary": ("credit_grants",),
    f"GET {PK}/credit-grants/verify-availability": ("credit_accounts",),
    f"GET {PK}/credit-transactions": ("ledger_entries",),
    f"GET {PK}/credit-transactions/{{transaction_id}}": ("ledger_entries",),
    f"GET {PK}/credit-transactions/summary": ("ledger_entries",),
    "GET /v1/webhooks/endpoints": ("webhook_endpoints",),
    "GET /v1/webhooks/endpoints/{endpoint_id}": ("webhook_endpoints",),
    "GET /v1/webhooks/events": ("webhook_events",),
    "GET /v1/webhooks/events/{event_id}": ("webhook_events",),
    "GET /v1/webhooks/deliveries": ("webhook_attempts", "webhook_deliveries"),
    "GET /v1/customers/{customer_id}/alerts": ("balance_alerts",),
    "GET /v1/customers/external/{external_id}/alerts": ("balance_alerts",),
    "GET /v1/alerts": ("balance_alerts",),
    "GET /v1/alerts/{alert_id}": ("balance_alerts",),
    "GET /polar/v1/webhooks/endpoints": ("webhook_endpoints",),
    "GET /polar/v1/webhooks/endpoints/{id}": ("webhook_endpoints",),
    f"GET {PK}/webhook-endpoints": ("webhook_endpoints",),
    f"GET {PK}/webhook-endpoints/{{id}}": ("webhook_endpoints",),
    "GET /v1/customers/{customer_id}/topup-rules": ("topup_rules",),
    "GET /v1/customers/external/{external_id}/topup-rules": ("topup_rules",),
    "GET /v1/topup-rules": ("topup_rules",),
    "GET /v1/topup-rules/{rule_id}": ("topup_rules",),
    "GET /v1/topups": ("topups",),
    "GET /v1/topups/{topup_id}": ("topups",),
    "GET /v1/customers/{customer_id}/topups": ("customers", "topups"),
}
# Read paths that are not GET routes, each proved by its own test below.
OTHER_READS: dict[str, tuple[str, ...]] = {
    "Idempotency-Key replay": ("idempotency_keys",),
    "Deduplication by identifier": ("event_identifiers",),
    "API key listing": ("api_keys",),
}
UNSCOPED_ROUTES = {"GET /healthz", "GET /readyz"}


class World:
    """Organization A's data, every tenant-owned table populated once."""

    def __init__(self, a: Api) -> None:
        self.currency = a.ok(
            "POST", "/v1/currencies", 201, json={"name": "Scope", "symbol": "sc", "decimals": 2}
        )
        self.meter = a.ok(
            "POST",
            "/v1/meters",
            201,
            json={
                "name": "Scoped calls",
                "event_name": "scoped_call",
                "aggregation": {"func": "sum", "property": "units"},
                "currency_id": self.currency["id"],
            },
        )
        self.customer = a.ok(
            "POST",
            "/v1/customers",
            201,
            json={"external_id": "scope-a-ext", "email": "a@scope.example", "name": "Ann Scope"},
        )
        self.grant = a.ok(
            "POST",
            "/v1/credit-grants",
            201,
            json={
                "customer_id": self.customer["id"],
                "currency_id": self.currency["id"],
                "amount": "43.21",
            },
            headers={"Idempotency-Key": "scope-a-grant"},
        )
        a.ok(
            "POST",
            "/v1/events/ingest",
            json={
                "events": [
                    {
                        "identifier": "scope-a-1",
                        "name": "scoped_call",
                        "external_customer_id": "scope-a-ext",
                        "properties": {"units": 50},
                    }
                ]
            },
        )
        self.event = a.ok("GET", "/v1/events")["data"][0]
        # A second customer with credits left, for the routes that show what is in effect.
        self.saver = a.ok("POST", "/v1/customers", 201, json={"external_id": "scope-a-two"})
        a.ok(
            "POST",
            "/v1/credit-grants",
            201,
            json={
                "customer_id": self.saver["id"],
                "currency_id": self.currency["id"],
                "amount": "10",
            },
        )
        self.hold = a.ok(
            "POST",
            "/v1/holds",
            201,
            json={
                "customer_id": self.saver["id"],
                "currency_id": self.currency["id"],
                "amount": "1",
            },
        )
        entries = a.ok("GET", "/v1/credit-transactions", params={"event_id": self.event["id"]})
        self.entry = entries["data"][0]
        customer_meters = a.ok("GET", "/polar/v1/customer-meters/")["items"]
        self.customer_meter_id = customer_meters[0]["id"]
        # Nothing listens on port 9: the worker's attempt fails and is recorded.
        self.endpoint = a.ok(
            "POST",
            "/v1/webhooks/endpoints",
            201,
            json={"url": "http://127.0.0.1:9/scope-a", "event_types": ["webhook.test"]},
        )
        self.message = a.ok("POST", f"/v1/webhooks/endpoints/{self.endpoint['id']}/test", 202)
        hook = {"url": "http://127.0.0.1:9/scope-a-dialect", "format": "raw"}
        self.polar_endpoint = a.ok(
            "POST",
            "/polar/v1/webhooks/endpoints",
            201,
            json={**hook, "events": ["customer.created"]},
        )
        self.pk_endpoint = a.ok(
            "POST",
            f"{PK}/webhook-endpoints",
            json={"url": hook["url"], "enabled_events": ["customer.credit.low_balance"]},
        )
        self.alert = a.ok(
            "POST",
            f"/v1/customers/{self.customer['id']}/alerts",
            201,
            json={"currency_id": self.currency["id"], "thresholds": [{"code": "l", "value": "1"}]},
        )
        cur_id = self.currency["id"]
        self.topup_rule = a.ok(
            "POST",
            f"/v1/customers/{self.customer['id']}/topup-rules",
            201,
            json={"currency_id": cur_id, "trigger": "threshold", "threshold": "1", "amount": "1"},
        )
        self.topup = a.ok(
            "POST",
            f"/v1/customers/{self.customer['id']}/topups",
            201,
            json={"currency_id": cur_id, "amount": "1", "settlement": "external"},
        )

    def uuid_of(self, native_id: str) -> str:
        return str(uuid.UUID(native_id.split("_", 1)[1]))

    def marks(self) -> list[str]:
        """Strings only A's data can put in a response: its ids in each spelling, its
        customer's names, and the amounts it booked."""
        ids = [self.currency, self.meter, self.customer, self.grant, self.event, self.entry]
        ids += [self.saver, self.hold, self.endpoint, self.message, self.alert]
        ids += [self.topup_rule, self.topup]
        out = [self.customer_meter_id, "scope-a-ext", "scope-a-two", "a@scope.example"]
        out += [self.polar_endpoint["id"], self.pk_endpoint["id"]]
        out.append("Ann Scope")
        for item in ids:
            out += [item["id"], self.uuid_of(item["id"]), uuid.UUID(self.uuid_of(item["id"])).hex]
        return out

    def requests(self) -> dict[str, tuple[str, dict[str, Any]]]:
        cus, ext, mtr = self.customer["id"], "scope-a-ext", self.meter["id"]
        cur, grt, evt, ent = (
            self.currency["id"],
            self.grant["id"],
            self.event["id"],
            self.entry["id"],
        )
        window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "window": "none"}
        polar_window = {
            "start_timestamp": "2000-01-01T00:00:00Z",
            "end_timestamp": "2090-01-01T00:00:00Z",
            "interval": "year",
        }
        u = self.uuid_of
        return {
            "GET /v1/currencies": ("/v1/currencies", {}),
            "GET /v1/currencies/{currency_id}": (f"/v1/currencies/{cur}", {}),
            "GET /v1/customers": ("/v1/customers", {}),
            "GET /v1/customers/{customer_id}": (f"/v1/customers/{cus}", {}),
            "GET /v1/customers/external/{external_id}": (f"/v1/customers/external/{ext}", {}),
            "GET /v1/customers/{customer_id}/access": (
                f"/v1/customers/{cus}/access",
                {"meter": mtr},
            ),
            "GET /v1/customers/external/{external_id}/access": (
                f"/v1/customers/external/{ext}/access",
                {"meter": "scoped_call"},
            ),
            "GET /v1/customers/{customer_id}/balances": (f"/v1/customers/{cus}/balances", {}),
            "GET /v1/customers/external/{external_id}/balances": (
                f"/v1/customers/external/{ext}/balances",
                {},
            ),
            "GET /v1/meters": ("/v1/meters", {}),
            "GET /v1/meters/{meter}": (f"/v1/meters/{mtr}", {}),
            "GET /v1/meters/{meter}/usage": (f"/v1/meters/{mtr}/usage", window),
            "GET /v1/events": ("/v1/events", {}),
            "GET /v1/events/{event_id}": (f"/v1/events/{evt}", {}),
            "GET /v1/credit-grants": ("/v1/credit-grants", {"customer_id": cus}),
            "GET /v1/credit-grants/{grant_id}": (f"/v1/credit-grants/{grt}", {}),
            "GET /v1/credit-transactions": ("/v1/credit-transactions", {"customer_id": cus}),
            "GET /v1/credit-transactions/{entry_id}": (f"/v1/credit-transactions/{ent}", {}),
            "GET /v1/holds": ("/v1/holds", {}),
            "GET /v1/holds/{hold_id}": (f"/v1/holds/{self.hold['id']}", {}),
            "GET /v1/customers/{customer_id}/holds": (
                f"/v1/customers/{self.saver['id']}/holds",
                {},
            ),
            "GET /polar/v1/customers/": ("/polar/v1/customers/", {}),
            "GET /polar/v1/customers/{id}": (f"/polar/v1/customers/{u(cus)}", {}),
            "GET /polar/v1/customers/external/{external_id}": (
                f"/polar/v1/customers/external/{ext}",
                {},
            ),
            "GET /polar/v1/customers/{id}/state": (f"/polar/v1/customers/{u(cus)}/state", {}),
            "GET /polar/v1/customers/external/{external_id}/state": (
                f"/polar/v1/customers/external/{ext}/state",
                {},
            ),
            "GET /polar/v1/customer-meters/": (
                "/polar/v1/customer-meters/",
                {"customer_id": u(cus)},
            ),
            "GET /polar/v1/customer-meters/{id}": (
                f"/polar/v1/customer-meters/{self.customer_meter_id}",
                {},
            ),
            "GET /polar/v1/meters/": ("/polar/v1/meters/", {}),
            "GET /polar/v1/meters/{id}": (f"/polar/v1/meters/{u(mtr)}", {}),
            "GET /polar/v1/meters/{id}/quantities": (
                f"/polar/v1/meters/{u(mtr)}/quantities",
                {**polar_window, "customer_id": u(cus)},
            ),
            "GET /polar/v1/events/": ("/polar/v1/events/", {}),
            "GET /polar/v1/events/{id}": (f"/polar/v1/events/{u(evt)}", {}),
            f"GET {PK}/meters": (f"{PK}/meters", {}),
            f"GET {PK}/meters/{{id_or_event_name}}": (f"{PK}/meters/{mtr}", {}),
            f"GET {PK}/meter-events": (f"{PK}/meter-events", {"customer_id": cus}),
            f"GET {PK}/meter-events/{{event_id}}": (f"{PK}/meter-events/{evt}", {}),
            f"GET {PK}/meter-events/pending-amount": (f"{PK}/meter-events/pending-amount", {}),
            f"GET {PK}/credit-grants": (f"{PK}/credit-grants", {"customer_id": cus}),
            f"GET {PK}/credit-grants/{{grant_id}}": (f"{PK}/credit-grants/{grt}", {}),
            f"GET {PK}/credit-grants/summary": (
                f"{PK}/credit-grants/summary",
                {"customer_id": self.saver["id"]},
            ),
            f"GET {PK}/credit-grants/verify-availability": (
                f"{PK}/credit-grants/verify-availability",
                {"customer_id": self.saver["id"], "currency_id": cur},
            ),
            f"GET {PK}/credit-transactions": (f"{PK}/credit-transactions", {"customer_id": cus}),
            f"GET {PK}/credit-transactions/{{transaction_id}}": (
                f"{PK}/credit-transactions/{ent}",
                {},
            ),
            f"GET {PK}/credit-transactions/summary": (
                f"{PK}/credit-transactions/summary",
                {"customer_id": cus},
            ),
            "GET /v1/webhooks/endpoints": ("/v1/webhooks/endpoints", {}),
            "GET /v1/webhooks/endpoints/{endpoint_id}": (
                f"/v1/webhooks/endpoints/{self.endpoint['id']}",
                {},
            ),
            "GET /v1/webhooks/events": ("/v1/webhooks/events", {}),
            "GET /v1/webhooks/events/{event_id}": (
                f"/v1/webhooks/events/{self.message['id']}",
                {},
            ),
            "GET /v1/webhooks/deliveries": ("/v1/webhooks/deliveries", {}),
            "GET /v1/customers/{customer_id}/alerts": (f"/v1/customers/{cus}/alerts", {}),
            "GET /v1/customers/external/{external_id}/alerts": (
                f"/v1/customers/external/{ext}/alerts",
                {},
            ),
            "GET /v1/alerts": ("/v1/alerts", {}),
            "GET /v1/alerts/{alert_id}": (f"/v1/alerts/{self.alert['id']}", {}),
            "GET /polar/v1/webhooks/endpoints": ("/polar/v1/webhooks/endpoints", {}),
            "GET /polar/v1/webhooks/endpoints/{id}": (
                f"/polar/v1/webhooks/endpoints/{self.polar_endpoint['id']}",
                {},
            ),
            f"GET {PK}/webhook-endpoints": (f"{PK}/webhook-endpoints", {}),
            f"GET {PK}/webhook-endpoints/{{id}}": (
                f"{PK}/webhook-endpoints/{self.pk_endpoint['id']}",
                {},
            ),
            "GET /v1/customers/{customer_id}/topup-rules": (f"/v1/customers/{cus}/topup-rules", {}),
            "GET /v1/customers/external/{external_id}/topup-rules": (
                f"/v1/customers/external/{ext}/topup-rules",
                {},
            ),
            "GET /v1/topup-rules": ("/v1/topup-rules", {}),
            "GET /v1/topup-rules/{rule_id}": (f"/v1/topup-rules/{self.topup_rule['id']}", {}),
            "GET /v1/topups": ("/v1/topups", {}),
            "GET /v1/topups/{topup_id}": (f"/v1/topups/{self.topup['id']}", {}),
            "GET /v1/customers/{customer_id}/topups": (f"/v1/customers/{cus}/topups", {}),
        }


def _get_routes(app: Any) -> set[str]:
    paths = app.openapi()["paths"]
    return {f"GET {path}" for path, item in paths.items() if "get" in item}


def test_every_tenant_table_and_get_route_has_a_case(app: Any) -> None:
    covered = {table for tables in (*CASES.values(), *OTHER_READS.values()) for table in tables}
    assert covered == set(TENANT_TABLES), "a tenant-owned table has no scoping case"
    assert set(CASES) | UNSCOPED_ROUTES == _get_routes(app), "a GET route has no scoping case"


def _answer(api: Api, path: str, params: dict[str, Any]) -> tuple[int, Any, str]:
    response = api.get(path, params=params)
    body = response.json() if response.content else None
    return response.status_code, body, json.dumps(body)


def _nonzero_amounts(value: Any) -> list[Any]:
    """The numbers in a JSON answer that are not zero (amounts, quantities, counts)."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in _nonzero_amounts(item)]
    if isinstance(value, list):
        return [n for item in value for n in _nonzero_amounts(item)]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [value] if value else []
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return [value] if Decimal(value) else []
    return []


# Routes that answer with totals rather than objects: A's answer shows non-zero amounts
# (verify-availability: that the customer can continue), B's shows none.
TOTALS = {
    "GET /v1/meters/{meter}/usage",
    "GET /polar/v1/meters/{id}/quantities",
    f"GET {PK}/meter-events/pending-amount",
    f"GET {PK}/credit-grants/summary",
    f"GET {PK}/credit-transactions/summary",
}
VERIFY = f"GET {PK}/credit-grants/verify-availability"


def test_another_organization_reads_nothing(
    make_api: Any, database: Any, clock: Any, settings: Any
) -> None:
    a, b = make_api(), make_api()
    world = World(a)
    deliverer = Deliverer(database, clock, settings)
    try:
        deliverer.run_once()  # one failed attempt of A's test event
    finally:
        deliverer.close()
    marks = world.marks()
    # B has data of its own, so "nothing of A's" is not just "an empty database".
    b.ok("POST", "/v1/currencies", 201, json={"name": "Other", "symbol": "ot", "decimals": 2})
    b.ok("POST", "/v1/customers", 201, json={"external_id": "scope-b-ext"})
    requests = world.requests()
    assert set(requests) == set(CASES)
    for route, (path, params) in requests.items():
        status_a, body_a, text_a = _answer(a, path, params)
        assert status_a == 200, (route, status_a, text_a)
        if route in TOTALS:
            assert _nonzero_amounts(body_a), (route, text_a)
        elif route == VERIFY:
            assert body_a["can_continue"] is True, text_a
        else:
            assert [mark for mark in marks if mark in text_a], (route, text_a)
        status_b, body_b, text_b = _answer(b, path, params)
        assert status_b in (200, 400, 404, 422), (route, status_b, text_b)
        if status_b != 200:
            continue  # a refusal may echo the id asked for, and shows nothing else
        asked = path + json.dumps(params)
        leaked = [mark for mark in marks if mark in text_b and mark not in asked]
        assert not leaked, (route, leaked, text_b)
        if route in TOTALS:
            assert not _nonzero_amounts(body_b), (route, text_b)
        if route == VERIFY:
            assert body_b["can_continue"] is False, text_b
        assert text_b != text_a, route


def test_idempotency_keys_are_per_organization(make_api: Any) -> None:
    a, b = make_api(), make_api()
    World(a)  # A created its grant with Idempotency-Key "scope-a-grant"
    currency = b.ok("POST", "/v1/currencies", 201, json={"name": "B", "symbol": "b", "decimals": 0})
    customer = b.ok("POST", "/v1/customers", 201, json={"external_id": "scope-b"})
    body = {"customer_id": customer["id"], "currency_id": currency["id"], "amount": "7"}
    response = b.post("/v1/credit-grants", json=body, headers={"Idempotency-Key": "scope-a-grant"})
    assert response.status_code == 201, response.text
    assert "Idempotent-Replayed" not in response.headers
    assert response.json()["customer_id"] == customer["id"]


def test_key_listing_is_per_organization(make_api: Any, database: Any) -> None:
    a, b = make_api(), make_api()
    with database.read() as conn:
        listed = keys.list_keys(conn, b.tenant.organization_id)
    assert [(key.organization_id, key.mode) for key in listed] == [
        (b.tenant.organization_id, b.tenant.mode)
    ]
    assert a.tenant.organization_id not in {key.organization_id for key in listed}


def test_event_identifiers_are_per_organization(make_api: Any) -> None:
    a, b = make_api(), make_api()
    event = {"identifier": "scope-dup", "name": "scope.ev", "external_customer_id": "x"}
    assert a.ok("POST", "/v1/events/ingest", json={"events": [event]})["inserted"] == 1
    assert b.ok("POST", "/v1/events/ingest", json={"events": [event]})["inserted"] == 1
    assert a.ok("POST", "/v1/events/ingest", json={"events": [event]})["duplicates"] == 1
