"""``drawdown holds create|get|list|capture|release``: reserve credits before costly work."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from drawdown.commands._common import (
    ApiKey,
    BaseUrl,
    Column,
    Json,
    Limit,
    MetadataOpt,
    ShowAll,
    connect,
    emit_list,
    emit_object,
    fail,
    first,
    metadata_pairs,
    page_size,
    reporting_errors,
)

__all__ = ["app"]

app = typer.Typer(
    help="Hold credits before costly work; capture the actual cost or release.",
    no_args_is_help=True,
)

COLUMNS: list[Column] = [
    ("id", lambda h: h.id),
    ("customer_id", lambda h: h.customer_id),
    ("status", lambda h: h.status),
    ("amount", lambda h: h.amount),
    ("captured_amount", lambda h: h.captured_amount),
    ("expires_at", lambda h: h.expires_at),
]

HoldId = Annotated[str, typer.Argument(help="The hold's id (hld_...).")]


@app.command("create")
def create(
    amount: Annotated[str, typer.Option(help="The most the work may cost, e.g. 2.50.")],
    customer: Annotated[str | None, typer.Option(help="Customer id (cus_...).")] = None,
    external_customer: Annotated[
        str | None, typer.Option(help="Or the customer's external id.")
    ] = None,
    meter: Annotated[
        str | None, typer.Option(help="A meter (id or event_name): its currency.")
    ] = None,
    currency_id: Annotated[str | None, typer.Option(help="Or a currency (cur_...).")] = None,
    min_amount: Annotated[
        str | None, typer.Option(help="Accept a partial hold down to this.")
    ] = None,
    timeout_s: Annotated[
        int, typer.Option(min=1, max=86_400, help="Seconds until the hold expires.")
    ] = 300,
    metadata: MetadataOpt = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Reserve credits (exit 1 with the available amount when they do not fit)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        hold = client.holds.create(
            amount=amount,
            customer_id=customer,
            external_customer_id=external_customer,
            meter_id=meter,
            currency_id=currency_id,
            min_amount=min_amount,
            timeout_s=timeout_s,
            metadata=metadata_pairs(metadata or []),
        )
    emit_object(hold, as_json)


@app.command("get")
def get(
    hold_id: HoldId,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Show one hold."""
    with reporting_errors(), connect(api_key, base_url) as client:
        hold = client.holds.get(hold_id)
    emit_object(hold, as_json)


@app.command("list")
def list_(
    customer: Annotated[str | None, typer.Option(help="Only this customer (cus_...).")] = None,
    status: Annotated[
        str | None, typer.Option(help="active, captured, released or expired.")
    ] = None,
    limit: Limit = 20,
    show_all: ShowAll = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """List holds, newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.holds.list_all(
            customer_id=customer,
            status=status,  # type: ignore[arg-type]  # the server names a bad value
            limit=page_size(limit, show_all),
        )
        shown = first(items, limit, show_all)
    emit_list(shown, COLUMNS, as_json, "holds")


@app.command("capture")
def capture(
    hold_id: HoldId,
    name: Annotated[str, typer.Option(help="The usage event's name (a meter's event_name).")],
    properties: Annotated[
        str, typer.Option(help="The event's properties as JSON, e.g. '{\"tokens\": 812}'.")
    ] = "{}",
    identifier: Annotated[
        str | None, typer.Option(help="The event's identifier (default: the hold's id).")
    ] = None,
    amount: Annotated[
        str | None, typer.Option(help="What the event costs, checked against its price.")
    ] = None,
    allow_overage: Annotated[
        bool, typer.Option(help="Allow a cost above the amount held.")
    ] = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Ingest the usage event and draw what it costs; the rest of the hold is released."""
    try:
        props = json.loads(properties)
    except ValueError as exc:
        raise fail(f"--properties is not JSON: {exc}") from None
    if not isinstance(props, dict):
        raise fail("--properties must be a JSON object")
    event = {"identifier": identifier or hold_id, "name": name, "properties": props}
    with reporting_errors(), connect(api_key, base_url) as client:
        hold = client.holds.capture(
            hold_id, amount, event=event, allow_overage=allow_overage or None
        )
    emit_object(hold, as_json)


@app.command("release")
def release(
    hold_id: HoldId,
    reason: Annotated[str | None, typer.Option(help="Why (kept on the hold).")] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Give the whole reservation back."""
    with reporting_errors(), connect(api_key, base_url) as client:
        hold = client.holds.release(hold_id, reason=reason)
    emit_object(hold, as_json)
