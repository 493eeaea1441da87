"""The dashboard's Webhooks page without a browser (both databases): endpoints with their
state and last delivery, deliveries per endpoint, Redeliver through the API's service (write
keys only, CSRF-checked, tenant-scoped), and the overview cards for failing endpoints and
alerts in alarm. Deliveries go to a real receiver through the real worker."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from drawdown.webhooks.worker import Deliverer
from tests.credits.conftest import Setup
from tests.dashboard.conftest import Dash
from tests.webhooks.conftest import add_endpoint, drain
from tests.webhooks.receiver import Receiver


def _card(html: str, title: str) -> str:
    found = re.search(
        rf'data-panel="{re.escape(title)}"><small>[^<]*</small><strong><a href="[^"]+">(\d+)</a>',
        html,
    )
    assert found, html
    return found.group(1)


def _row(html: str, marker: str) -> str:
    found = re.search(rf"<tr {marker}.*?</tr>", html, re.S)
    assert found, (marker, html)
    return found.group(0)


def test_endpoints_deliveries_and_redeliver(
    signed_in: Callable[..., Dash],
    make_api: Any,
    receiver: Receiver,
    deliverer: Deliverer,
) -> None:
    writer = signed_in()
    org = writer.key.tenant.organization_id
    api = make_api(organization_id=org)
    ok = add_endpoint(api, receiver, "/ok", ["customer.created"])
    gone = add_endpoint(api, receiver, "/gone", ["customer.created"])
    receiver.route("/gone").plan = [(410, {})]
    assert _card(writer.get("/dashboard").text, "Failing webhook endpoints") == "0"
    api.ok("POST", "/v1/customers", 201, json={"external_id": "panel-1"})
    drain(deliverer)
    (first,) = receiver.at("/ok")

    listing = writer.get("/dashboard/webhooks").text
    ok_row = _row(listing, f'data-endpoint="{ok["id"]}"')
    assert "enabled" in ok_row and ">200<" in ok_row and receiver.url("/ok") in ok_row
    gone_row = _row(listing, f'data-endpoint="{gone["id"]}"')
    assert "disabled" in gone_row and "the receiver answered 410 Gone" in gone_row
    assert ">410<" in gone_row
    assert _card(writer.get("/dashboard").text, "Failing webhook endpoints") == "1"

    detail = writer.get(f"/dashboard/webhooks/{ok['id']}").text
    event_id = first.webhook_id
    row = _row(detail, f'data-event="{event_id}"')
    assert "customer.created" in row and 'data-status="succeeded"' in row
    assert re.search(r"data-attempts>1<", row) and re.search(r"data-latency>[\d.]+ ms<", row)
    assert ">200<" in row and ">ok<" in row  # the receiver's answer, excerpted
    assert ">Redeliver<" in row

    # A read key sees the page without the button, and the server refuses the write.
    reader = signed_in(scope="read", organization_id=org)
    assert ">Redeliver<" not in reader.get(f"/dashboard/webhooks/{ok['id']}").text
    refused = reader.post(f"/dashboard/webhooks/{ok['id']}/redeliver", {"event_id": event_id})
    assert refused.status_code == 403 and "read-only" in refused.text
    # No CSRF token, or a wrong one: refused too.
    for token in (None, "wrong"):
        body = (
            {"event_id": event_id} if token is None else {"event_id": event_id, "csrf_token": token}
        )
        response = writer.client.post(
            f"/dashboard/webhooks/{ok['id']}/redeliver", data=body, follow_redirects=False
        )
        assert response.status_code == 403 and "CSRF" in response.text
    # Another organization's key cannot see or redeliver this one's.
    other = signed_in()
    assert other.get(f"/dashboard/webhooks/{ok['id']}").status_code == 404
    assert (
        other.post(f"/dashboard/webhooks/{ok['id']}/redeliver", {"event_id": event_id}).status_code
        == 404
    )
    drain(deliverer)
    assert len(receiver.at("/ok")) == 1  # none of those scheduled anything

    done = writer.post(f"/dashboard/webhooks/{ok['id']}/redeliver", {"event_id": event_id})
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"?redelivered={event_id}")
    assert "queued for redelivery" in writer.get(done.headers["location"]).text
    drain(deliverer)
    again = receiver.at("/ok")
    assert [d.webhook_id for d in again] == [event_id, event_id]  # same id, sent again
    assert again[1].headers["webhook-timestamp"] >= again[0].headers["webhook-timestamp"]
    assert receiver.unverified == []
    rows = re.findall(
        rf'<tr data-event="{event_id}" data-status="(\w+)"',
        writer.get(f"/dashboard/webhooks/{ok['id']}").text,
    )
    assert rows == ["succeeded", "succeeded"]


def test_alerts_in_alarm_card_and_table(
    signed_in: Callable[..., Dash], make_api: Any, database: Any
) -> None:
    writer = signed_in()
    api = make_api(organization_id=writer.key.tenant.organization_id)
    setup = Setup(api, database)
    created = api.ok(
        "POST",
        f"/v1/customers/{setup.customer['id']}/alerts",
        201,
        json={"currency_id": setup.currency["id"], "name": "Running low",
              "thresholds": [{"code": "low", "value": "50"}, {"code": "empty", "value": "0"}]},
    )  # fmt: skip
    setup.grant("100")
    assert _card(writer.get("/dashboard").text, "Alerts in alarm") == "0"
    event = {"identifier": "a1", "name": "api_calls", "external_customer_id": "c1",
             "properties": {"units": 60}}  # fmt: skip
    api.ok("POST", "/v1/events/ingest", json={"events": [event]})
    assert _card(writer.get("/dashboard").text, "Alerts in alarm") == "1"
    row = _row(writer.get("/dashboard/webhooks").text, f'data-alarm="{created["id"]}"')
    assert ">c1<" in row and "Running low" in row and "<code>low</code>" in row
    assert "<code>empty</code>" not in row
    setup.grant("100")  # 140: back above
    assert _card(writer.get("/dashboard").text, "Alerts in alarm") == "0"
    assert "No balance alert is in alarm" in writer.get("/dashboard/webhooks").text


def test_a_throttled_endpoint_says_until_when(
    signed_in: Callable[..., Dash], make_api: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    writer = signed_in()
    api = make_api(organization_id=writer.key.tenant.organization_id)
    busy = add_endpoint(api, receiver, "/busy", ["customer.created"])
    receiver.route("/busy").plan = [(429, {"Retry-After": "3600"})]
    api.ok("POST", "/v1/customers", 201, json={"external_id": "busy-1"})
    drain(deliverer)
    row = _row(writer.get("/dashboard/webhooks").text, f'data-endpoint="{busy["id"]}"')
    assert "throttled until" in row and ">429<" in row
    assert _card(writer.get("/dashboard").text, "Failing webhook endpoints") == "1"
    assert "throttled until" in writer.get(f"/dashboard/webhooks/{busy['id']}").text
