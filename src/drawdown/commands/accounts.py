"""``drawdown balance`` and ``drawdown ledger``: a customer's credits."""

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
    ShowAll,
    connect,
    emit_list,
    first,
    page_size,
    reporting_errors,
)
from drawdown.commands.customers import resolve_customer

__all__ = ["balance", "ledger"]

Customer = Annotated[str, typer.Argument(help="A cus_ id (or your external id with -e).")]

BALANCE_COLUMNS: list[Column] = [
    ("currency_id", lambda b: b.currency_id),
    ("available", lambda b: b.available),
    ("debt", lambda b: b.debt),
    ("pending", lambda b: b.pending),
    ("next_expiry_at", lambda b: b.next_expiry_at),
    ("next_expiry_amount", lambda b: b.next_expiry_amount),
]
LEDGER_COLUMNS: list[Column] = [
    ("id", lambda t: t.id),
    ("seq", lambda t: t.sequence),
    ("created_at", lambda t: t.created_at),
    ("type", lambda t: t.type),
    ("amount", lambda t: t.amount),
    ("balance_after", lambda t: t.balance_after),
    ("currency_id", lambda t: t.currency_id),
    ("grant_id", lambda t: t.grant_id),
    ("event_id", lambda t: t.event_id),
]


def balance(
    customer: Customer,
    external: External = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Show a customer's balance in each currency: available, debt, pending, next expiry."""
    with reporting_errors(), connect(api_key, base_url) as client:
        if external:
            balances = client.balances.list(external_customer_id=customer)
        else:
            balances = client.balances.list(customer_id=customer)
    emit_list(balances, BALANCE_COLUMNS, as_json, f"balances of {customer}")


def ledger(
    customer: Customer,
    external: External = False,
    currency_id: Annotated[str | None, typer.Option(help="Only this currency.")] = None,
    grant_id: Annotated[str | None, typer.Option(help="Only entries of this grant.")] = None,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="grant, consumption, debt, settlement, debt_settled, expiration or void.",
        ),
    ] = None,
    limit: Limit = 20,
    show_all: ShowAll = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Show a customer's ledger (every credit movement), newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        customer_id = resolve_customer(client, customer, external).id if external else customer
        items = client.credit_transactions.list_all(
            customer_id=customer_id,
            currency_id=currency_id,
            grant_id=grant_id,
            type=type_,
            limit=page_size(limit, show_all),
        )
        shown = first(items, limit, show_all)
    emit_list(shown, LEDGER_COLUMNS, as_json, f"ledger of {customer}")
