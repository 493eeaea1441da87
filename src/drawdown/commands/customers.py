"""``drawdown customers create|get|list``."""

from __future__ import annotations

from typing import Annotated

import typer

from drawdown.commands._common import (
    ApiKey,
    BaseUrl,
    Column,
    External,
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
from drawdown.sdk import Client, Customer

__all__ = ["COLUMNS", "app", "resolve_customer"]

app = typer.Typer(help="Create, show and list customers.", no_args_is_help=True)

COLUMNS: list[Column] = [
    ("id", lambda c: c.id),
    ("external_id", lambda c: c.external_id),
    ("email", lambda c: c.email),
    ("name", lambda c: c.name),
    ("created_at", lambda c: c.created_at),
]


def resolve_customer(client: Client, customer: str, external: bool) -> Customer:
    if external:
        return client.customers.get_by_external_id(customer)
    return client.customers.get(customer)


@app.command("create")
def create(
    external_id: Annotated[
        str | None, typer.Option(help="Your own id for the customer (unique per mode).")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    metadata: MetadataOpt = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Make a re-run of this command create nothing new.")
    ] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Create a customer and print it."""
    meta = metadata_pairs(metadata or [])
    with reporting_errors(), connect(api_key, base_url) as client:
        created = client.customers.create(
            external_id=external_id,
            email=email,
            name=name,
            metadata=meta,
            idempotency_key=idempotency_key,
        )
    emit_object(created, as_json)


@app.command("get")
def get(
    customer: Annotated[str, typer.Argument(help="A cus_ id (or your external id with -e).")],
    external: External = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Show one customer."""
    with reporting_errors(), connect(api_key, base_url) as client:
        found = resolve_customer(client, customer, external)
    emit_object(found, as_json)


@app.command("list")
def list_(
    email: Annotated[str | None, typer.Option(help="Only this exact email.")] = None,
    external_id: Annotated[str | None, typer.Option(help="Only this external id.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Search name, email and external id.")
    ] = None,
    limit: Limit = 20,
    show_all: ShowAll = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """List customers, newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.customers.list_all(
            email=email, external_id=external_id, q=query, limit=page_size(limit, show_all)
        )
        shown = first(items, limit, show_all)
    emit_list(shown, COLUMNS, as_json, "customers")
