"""``drawdown webhooks ...``: endpoints, the event log, delivery attempts, redeliver and
replay; ``drawdown alerts ...``: balance alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from drawdown.commands._common import (
    ApiKey,
    BaseUrl,
    Column,
    Json,
    Limit,
    ShowAll,
    connect,
    emit_list,
    emit_object,
    fail,
    first,
    page_size,
    reporting_errors,
)
from drawdown.sdk._webhook_calls import Threshold

__all__ = ["alerts_app", "app"]

app = typer.Typer(help="Webhook endpoints, events and deliveries.", no_args_is_help=True)
endpoints = typer.Typer(
    help="Create, list, rotate, test and delete endpoints.", no_args_is_help=True
)
app.add_typer(endpoints, name="endpoints")
alerts_app = typer.Typer(
    help="Balance alerts per customer or organization-wide.", no_args_is_help=True
)

URL = "http://127.0.0.1:8000"
ENDPOINT_COLUMNS: list[Column] = [
    ("id", lambda e: e.id),
    ("url", lambda e: e.url),
    ("event_types", lambda e: ",".join(e.event_types)),
    ("enabled", lambda e: e.enabled),
    ("disabled_reason", lambda e: e.disabled_reason),
]
EVENT_COLUMNS: list[Column] = [
    ("id", lambda e: e.id),
    ("type", lambda e: e.type),
    ("timestamp", lambda e: e.timestamp),
]
DELIVERY_COLUMNS: list[Column] = [
    ("id", lambda d: d.id),
    ("event_type", lambda d: d.event_type),
    ("attempt", lambda d: d.attempt),
    ("succeeded", lambda d: d.succeeded),
    ("http_code", lambda d: d.http_code),
    ("latency_us", lambda d: d.latency_us),
    ("created_at", lambda d: d.created_at),
]
ALERT_COLUMNS: list[Column] = [
    ("id", lambda a: a.id),
    ("customer_id", lambda a: a.customer_id or "(default)"),
    ("balance_type", lambda a: a.balance_type),
    ("thresholds", lambda a: ", ".join(f"{t.code}<={t.value}:{t.state}" for t in a.thresholds)),
    ("enabled", lambda a: a.enabled),
]


@endpoints.command("create")
def endpoint_create(
    url: Annotated[str, typer.Argument(help="Where to POST events.")],
    event_type: Annotated[
        list[str] | None, typer.Option("--event-type", "-t", help="Repeat; default every type.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = URL,
    as_json: Json = False,
) -> None:
    """Create an endpoint and print it with its secret (shown only now)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        created = client.webhooks.endpoints.create(
            url=url, event_types=event_type or ["*"], description=description
        )
    emit_object(created, as_json)


@endpoints.command("list")
def endpoint_list(
    limit: Limit = 20, show_all: ShowAll = False, api_key: ApiKey = None,
    base_url: BaseUrl = URL, as_json: Json = False,
) -> None:  # fmt: skip
    """List endpoints."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.webhooks.endpoints.list_all(limit=page_size(limit, show_all))
        shown = first(items, limit, show_all)
    emit_list(shown, ENDPOINT_COLUMNS, as_json, "webhook endpoints")


def _endpoint_action(
    action: str, endpoint_id: str, api_key: str | None, base_url: str, as_json: bool
) -> None:
    with reporting_errors(), connect(api_key, base_url) as client:
        resource = client.webhooks.endpoints
        result = {
            "rotate": resource.rotate_secret,
            "enable": resource.enable,
            "disable": resource.disable,
            "test": resource.test,
            "get": resource.get,
        }[action](endpoint_id)
    emit_object(result, as_json)


EndpointId = Annotated[str, typer.Argument(help="A whe_ id.")]


@endpoints.command("get")
def endpoint_get(
    endpoint_id: EndpointId, api_key: ApiKey = None, base_url: BaseUrl = URL, as_json: Json = False
) -> None:
    """Show one endpoint."""
    _endpoint_action("get", endpoint_id, api_key, base_url, as_json)


@endpoints.command("rotate-secret")
def endpoint_rotate(
    endpoint_id: EndpointId, api_key: ApiKey = None, base_url: BaseUrl = URL, as_json: Json = False
) -> None:
    """A new secret; the old one keeps signing for a day (two signatures)."""
    _endpoint_action("rotate", endpoint_id, api_key, base_url, as_json)


@endpoints.command("enable")
def endpoint_enable(
    endpoint_id: EndpointId, api_key: ApiKey = None, base_url: BaseUrl = URL, as_json: Json = False
) -> None:
    """Enable (resets the failure count)."""
    _endpoint_action("enable", endpoint_id, api_key, base_url, as_json)


@endpoints.command("disable")
def endpoint_disable(
    endpoint_id: EndpointId, api_key: ApiKey = None, base_url: BaseUrl = URL, as_json: Json = False
) -> None:
    """Disable: nothing is sent until enabled again."""
    _endpoint_action("disable", endpoint_id, api_key, base_url, as_json)


@endpoints.command("test")
def endpoint_test(
    endpoint_id: EndpointId, api_key: ApiKey = None, base_url: BaseUrl = URL, as_json: Json = False
) -> None:
    """Send a webhook.test event."""
    _endpoint_action("test", endpoint_id, api_key, base_url, as_json)


@endpoints.command("delete")
def endpoint_delete(
    endpoint_id: EndpointId, api_key: ApiKey = None, base_url: BaseUrl = URL
) -> None:
    """Delete an endpoint (its delivery history stays)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        client.webhooks.endpoints.delete(endpoint_id)
    typer.echo(f"deleted {endpoint_id}")


@endpoints.command("replay")
def endpoint_replay(
    endpoint_id: EndpointId,
    since: Annotated[str, typer.Option(help="RFC 3339 start of the range.")],
    until: Annotated[str | None, typer.Option(help="RFC 3339 end (default now).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Not only failed events.")] = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = URL,
    as_json: Json = False,
) -> None:
    """Send the endpoint's events of a time range again."""
    with reporting_errors(), connect(api_key, base_url) as client:
        result = client.webhooks.endpoints.replay(
            endpoint_id, since=since, until=until, only_failed=not everything
        )
    emit_object(result, as_json)


@app.command("events")
def events(
    type_: Annotated[str | None, typer.Option("--type", help="Only this event type.")] = None,
    limit: Limit = 20, show_all: ShowAll = False, api_key: ApiKey = None,
    base_url: BaseUrl = URL, as_json: Json = False,
) -> None:  # fmt: skip
    """The event log, newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.webhooks.events.list_all(type=type_, limit=page_size(limit, show_all))
        shown = first(items, limit, show_all)
    emit_list(shown, EVENT_COLUMNS, as_json, "webhook events")


@app.command("deliveries")
def deliveries(
    endpoint_id: Annotated[str | None, typer.Option(help="Only this endpoint.")] = None,
    event_id: Annotated[str | None, typer.Option(help="Only this event.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed attempts.")] = False,
    limit: Limit = 20, show_all: ShowAll = False, api_key: ApiKey = None,
    base_url: BaseUrl = URL, as_json: Json = False,
) -> None:  # fmt: skip
    """Delivery attempts, newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.webhooks.deliveries.list_all(
            endpoint_id=endpoint_id,
            event_id=event_id,
            succeeded=False if failed else None,
            limit=page_size(limit, show_all),
        )
        shown = first(items, limit, show_all)
    emit_list(shown, DELIVERY_COLUMNS, as_json, "webhook deliveries")


@app.command("redeliver")
def redeliver(
    event_id: Annotated[str, typer.Argument(help="A msg_ id.")],
    endpoint_id: Annotated[str | None, typer.Option(help="Only to this endpoint.")] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = URL,
    as_json: Json = False,
) -> None:
    """Send an event again (same webhook-id)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        result = client.webhooks.events.redeliver(event_id, endpoint_id=endpoint_id)
    emit_object(result, as_json)


def _thresholds(specs: list[str]) -> list[Threshold]:
    out: list[Threshold] = []
    for spec in specs:
        code, sep, value = spec.partition("=")
        if not sep or not code or not value:
            raise fail(f"--threshold must look like CODE=AMOUNT, not {spec!r}", 2)
        out.append({"code": code, "value": value})
    return out


@alerts_app.command("create")
def alert_create(
    threshold: Annotated[
        list[str], typer.Option("--threshold", help="CODE=AMOUNT; repeat, decreasing.")
    ],
    currency_id: Annotated[str | None, typer.Option(help="The currency (or --meter-id).")] = None,
    meter_id: Annotated[str | None, typer.Option(help="The meter's currency.")] = None,
    customer: Annotated[
        str | None, typer.Option(help="A cus_ id; none: organization default.")
    ] = None,
    rearm_margin: Annotated[str | None, typer.Option(help="Re-arm above threshold + this.")] = None,
    balance_type: Annotated[str | None, typer.Option(help="available (default) or ledger.")] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = URL,
    as_json: Json = False,
) -> None:
    """Create a balance alert."""
    with reporting_errors(), connect(api_key, base_url) as client:
        created = client.alerts.create(
            thresholds=_thresholds(threshold),
            customer_id=customer,
            currency_id=currency_id,
            meter_id=meter_id,
            rearm_margin=rearm_margin,
            balance_type=balance_type,
        )
    emit_object(created, as_json)


@alerts_app.command("list")
def alert_list(
    customer: Annotated[str | None, typer.Option(help="A cus_ id: its alerts and state.")] = None,
    limit: Limit = 20, show_all: ShowAll = False, api_key: ApiKey = None,
    base_url: BaseUrl = URL, as_json: Json = False,
) -> None:  # fmt: skip
    """List alerts (a customer's with its state, or all)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.alerts.list_all(customer_id=customer, limit=page_size(limit, show_all))
        shown = first(items, limit, show_all)
    emit_list(shown, ALERT_COLUMNS, as_json, "balance alerts")


@alerts_app.command("delete")
def alert_delete(
    alert_id: Annotated[str, typer.Argument(help="An alr_ id.")],
    api_key: ApiKey = None,
    base_url: BaseUrl = URL,
) -> None:
    """Delete an alert."""
    with reporting_errors(), connect(api_key, base_url) as client:
        client.alerts.delete(alert_id)
    typer.echo(f"deleted {alert_id}")
