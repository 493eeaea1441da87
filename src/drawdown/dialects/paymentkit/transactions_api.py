"""``/paymentkit/api/credit-transactions``: Payment Kit's credit transaction routes over
drawdown's ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from drawdown.credits import read
from drawdown.credits.read import EntryFilter
from drawdown.currencies import service as currencies
from drawdown.dialects.paymentkit import ledger_service as ledger
from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.customers import find_customer
from drawdown.dialects.paymentkit.routing import (
    PageParam,
    PageSizeParam,
    PaymentKitRoute,
    ReadPk,
)
from drawdown.dialects.paymentkit.schemas import (
    PkCreditTransaction,
    PkTransactionPage,
    UnixSeconds,
)
from drawdown.dialects.paymentkit.wire import from_unix, iso_ms
from drawdown.errors import request_field
from drawdown.ids import parse_id
from drawdown.meters import service as meters
from drawdown.paging import Numbered
from drawdown.tenancy import Tenant

__all__ = ["router"]

router = APIRouter(prefix="/paymentkit/api/credit-transactions", route_class=PaymentKitRoute)

Ref = Annotated[str | None, Query(max_length=255)]
TypesParam = Annotated[
    str | None,
    Query(
        description=(
            "drawdown extension: comma-separated ledger entry types, or 'all'. Default "
            "'consumption,settlement' (the rows Payment Kit records)."
        )
    ),
]


class _Nothing(Exception):
    """A filter names something that does not exist: the answer is empty."""


def _types(value: str | None) -> list[str]:
    if value is None:
        return list(ledger.USAGE_TYPES)
    if value == "all":
        return list(ledger.ALL_TYPES)
    types = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in types if t not in ledger.ALL_TYPES]
    if unknown or not types:
        raise request_field(
            ["query", "type"], f"must be 'all' or some of {', '.join(ledger.ALL_TYPES)}"
        )
    return types


def _filters(
    conn: Connection, tenant: Tenant, args: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Payment Kit's filters as ledger filters, plus the event name a meter filter means."""
    filters: dict[str, Any] = {}
    if args.get("customer_id"):
        customer = find_customer(conn, tenant, args["customer_id"])
        if customer is None:
            raise _Nothing
        filters["customer_id"] = customer.id
    if args.get("currency_id"):
        filters["currency_id"] = currencies.get_currency(conn, tenant, args["currency_id"]).id
    for name, kind, key in (
        ("credit_grant_id", "credit_grant", "grant_id"),
        ("source", "event", "event_id"),
    ):
        if args.get(name):
            parsed = parse_id(kind, args[name])
            if parsed is None:
                raise _Nothing
            filters[key] = parsed
    if args.get("start") is not None:
        filters["created_from"] = from_unix(args["start"])
    if args.get("end") is not None:
        filters["created_to"] = from_unix(args["end"] + 1)  # end is inclusive, in seconds
    event_name = None
    if args.get("meter_id"):
        meter = meters.get_meter(conn, tenant, args["meter_id"])
        filters["currency_id"] = meter.currency_id
        event_name = meter.event_name
    return filters, event_name


@router.get("", response_model=PkTransactionPage)
def list_transactions(
    ctx: ReadPk,
    page: PageParam = 1,
    page_size: PageSizeParam = 20,
    customer_id: Ref = None,
    credit_grant_id: Ref = None,
    meter_id: Ref = None,
    source: Ref = None,
    subscription_id: Ref = None,
    start: UnixSeconds | None = None,
    end: UnixSeconds | None = None,
    type: TypesParam = None,
) -> PkTransactionPage:
    args = locals()
    types = _types(type)
    with ctx.database.read() as conn:
        try:
            filters, event_name = _filters(conn, ctx.tenant, args)
        except _Nothing:
            return render.transaction_page([], 0, page, page_size)
        wanted = ledger.entry_filter(filters, types, event_name)
        found = read.entries(conn, ctx.tenant, wanted, Numbered(page, page_size))
        items = ledger.render_entries(conn, ctx.tenant, found.items, ctx.clock.now())
    return render.transaction_page(items, found.total or 0, page, page_size)


@router.get("/summary")
def summary(
    ctx: ReadPk,
    customer_id: Ref = None,
    subscription_id: Ref = None,
    currency_id: Ref = None,
    meter_id: Ref = None,
    start: UnixSeconds | None = None,
    end: UnixSeconds | None = None,
) -> dict[str, Any]:
    args = locals()
    with ctx.database.read() as conn:
        wanted: EntryFilter | None
        try:
            filters, event_name = _filters(conn, ctx.tenant, args)
            wanted = ledger.entry_filter(filters, ledger.USAGE_TYPES, event_name)
        except _Nothing:
            wanted, event_name = None, None
        quantity, credit_units, count = ledger.usage_totals(conn, ctx.tenant, wanted)
    return {
        "total_quantity": format(quantity.normalize(), "f") if quantity else "0",
        "total_credit_amount": str(credit_units),
        "transaction_count": count,
        "filters": {
            "customer_id": customer_id,
            "subscription_id": subscription_id,
            "meter_event_name": event_name,
            "meter_id": meter_id,
            "currency_id": currency_id,
            "start_time": None if start is None else iso_ms(from_unix(start)),
            "end_time": None if end is None else iso_ms(from_unix(end)),
        },
    }


@router.get("/{transaction_id}", response_model=PkCreditTransaction)
def retrieve_transaction(transaction_id: str, ctx: ReadPk) -> PkCreditTransaction:
    with ctx.database.read() as conn:
        row = ledger.get_entry(conn, ctx.tenant, transaction_id)
        return ledger.render_entries(conn, ctx.tenant, [row], ctx.clock.now())[0]
