"""Payment Kit's webhook endpoint shape and event names, delivered to a real receiver that
verifies every request with the standardwebhooks library."""

from __future__ import annotations

from typing import Any

from drawdown.webhooks.worker import Deliverer
from tests.dialects.paymentkit.conftest import BASE
from tests.dialects.paymentkit.test_credit_billing import grant, report
from tests.dialects.paymentkit.test_meters import create_meter
from tests.webhooks.conftest import drain
from tests.webhooks.receiver import Receiver


def test_payment_kit_endpoint_shape_and_event_names(
    pk: Any,
    receiver: Receiver,
    deliverer: Deliverer,
) -> None:
    created = pk.ok(
        "POST",
        f"{BASE}/webhook-endpoints",
        json={
            "url": receiver.url("/pk"),
            "enabled_events": ["customer.credit_grant.granted", "customer.credit.low_balance",
                               "customer.credit_grant.depleted"],
            "description": "billing",
        },
    )  # fmt: skip
    assert created["status"] == "enabled" and created["secret"].startswith("whsec_")
    assert created["enabled_events"] == [
        "customer.credit_grant.granted",
        "customer.credit.low_balance",
        "customer.credit_grant.depleted",
    ]
    receiver.route("/pk", created["secret"])
    listed = pk.ok("GET", f"{BASE}/webhook-endpoints")
    assert listed["count"] == 1 and listed["list"][0]["id"] == created["id"]
    assert listed["list"][0]["secret"] is None
    assert pk.ok("GET", f"{BASE}/webhook-endpoints/{created['id']}")["url"] == receiver.url("/pk")

    meter = create_meter(pk)
    made = grant(pk, "did:abc:hook", meter["currency_id"], "10")
    pk.ok(
        "POST",
        f"/v1/customers/{made['customer_id']}/alerts",
        201,
        json={"currency_id": meter["currency_id"], "thresholds": [{"code": "low", "value": "3"}]},
    )
    report(pk, "did:abc:hook", "8", "pk-hook-1")
    report(pk, "did:abc:hook", "5", "pk-hook-2")
    drain(deliverer)

    got = sorted(receiver.at("/pk"), key=lambda d: d.webhook_id)
    assert receiver.unverified == []
    assert [d.type for d in got] == [
        "customer.credit_grant.granted",
        "customer.credit.low_balance",
        "customer.credit_grant.depleted",
    ]
    granted = got[0].payload
    assert granted["id"] == got[0].webhook_id and isinstance(granted["created_at"], int)
    assert granted["object_type"] == "credit_grant" and granted["livemode"] is False
    assert granted["data"]["object"]["grant_id"] == made["id"]
    low = got[1].payload["data"]["object"]
    assert (low["threshold_code"], low["balance"]) == ("low", "2.00")

    disabled = pk.ok(
        "PUT", f"{BASE}/webhook-endpoints/{created['id']}", json={"status": "disabled"}
    )
    assert disabled["status"] == "disabled"
    pk.ok("DELETE", f"{BASE}/webhook-endpoints/{created['id']}")
    assert pk.ok("GET", f"{BASE}/webhook-endpoints")["count"] == 0
    bad = pk.post(f"{BASE}/webhook-endpoints", json={"url": receiver.url("/x"),
                                                    "enabled_events": ["nope"]})  # fmt: skip
    assert bad.status_code == 400
