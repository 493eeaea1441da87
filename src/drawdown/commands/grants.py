"""``drawdown grants create|list|void``."""

from __future__ import annotations

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
    first,
    metadata_pairs,
    page_size,
    reporting_errors,
)

__all__ = ["app"]

app = typer.Typer(help="Grant credits to customers; list and void grants.", no_args_is_help=True)

COLUMNS: list[Column] = [
    ("id", lambda g: g.id),
    ("customer_id", lambda g: g.customer_id),
    ("currency_id", lambda g: g.currency_id),
    ("amount", lambda g: g.amount),
    ("remaining", lambda g: g.remaining),
    ("category", lambda g: g.category),
    ("priority", lambda g: g.priority),
    ("status", lambda g: g.status),
    ("expires_at", lambda g: g.expires_at),
    ("name", lambda g: g.name),
]


@app.command("create")
def create(
    amount: Annotated[str, typer.Option(help="Credits in human units, e.g. 10.00.")],
    customer: Annotated[str | None, typer.Option(help="Customer id (cus_...).")] = None,
    external_customer: Annotated[
        str | None, typer.Option(help="Or the customer's external id.")
    ] = None,
    currency_id: Annotated[str | None, typer.Option(help="Currency (cur_...).")] = None,
    meter: Annotated[
        str | None, typer.Option(help="Or a meter id (mtr_...): its currency.")
    ] = None,
    category: Annotated[str, typer.Option(help="paid or promotional.")] = "paid",
    priority: Annotated[
        int | None, typer.Option(min=0, max=100, help="0-100, lower is drawn first (50).")
    ] = None,
    effective_at: Annotated[
        str | None, typer.Option(help="When it becomes usable (RFC 3339); default now.")
    ] = None,
    expires_at: Annotated[str | None, typer.Option(help="When it expires (RFC 3339).")] = None,
    name: Annotated[str | None, typer.Option(help="A label, e.g. 'trial bonus'.")] = None,
    metadata: MetadataOpt = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Make a re-run of this command grant nothing new.")
    ] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Grant credits to a customer (give --customer or --external-customer, and
    --currency-id or --meter)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        grant = client.credit_grants.create(
            amount=amount,
            customer_id=customer,
            external_customer_id=external_customer,
            currency_id=currency_id,
            meter_id=meter,
            category=category,  # type: ignore[arg-type]  # the server names a bad value
            priority=priority,
            effective_at=effective_at,
            expires_at=expires_at,
            name=name,
            metadata=metadata_pairs(metadata or []),
            idempotency_key=idempotency_key,
        )
    emit_object(grant, as_json)


@app.command("list")
def list_(
    customer: Annotated[str | None, typer.Option(help="Only this customer (cus_...).")] = None,
    currency_id: Annotated[str | None, typer.Option(help="Only this currency.")] = None,
    status: Annotated[
        str | None, typer.Option(help="pending, active, depleted, expired or voided.")
    ] = None,
    limit: Limit = 20,
    show_all: ShowAll = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """List credit grants, newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.credit_grants.list_all(
            customer_id=customer,
            currency_id=currency_id,
            status=status,  # type: ignore[arg-type]  # the server names a bad value
            limit=page_size(limit, show_all),
        )
        shown = first(items, limit, show_all)
    emit_list(shown, COLUMNS, as_json, "credit grants")


@app.command("void")
def void(
    grant_id: Annotated[str, typer.Argument(help="The grant's id (cgr_...).")],
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Void a grant: what remains of it leaves the balance (a 'void' ledger entry)."""
    with reporting_errors(), connect(api_key, base_url) as client:
        grant = client.credit_grants.void(grant_id)
    emit_object(grant, as_json)
