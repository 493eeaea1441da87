from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown.credits import read, service
from drawdown.credits.read import EntryFilter, GrantFilter
from drawdown.credits.schemas import (
    AccessOut,
    BalanceList,
    EntryType,
    GrantCreate,
    GrantOut,
    GrantStatus,
    LedgerEntryOut,
)
from drawdown.customers.service import get_customer, get_customer_by_external_id
from drawdown.errors import request_field
from drawdown.http.deps import ReadCtx, RequestContext, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    cursor,
    page_of,
)
from drawdown.ids import parse_id
from drawdown.schemas import QueryInstant

__all__ = ["router"]

router = APIRouter(tags=["credits"])


@router.post("/v1/credit-grants", status_code=201, response_model=GrantOut)
def create_grant(
    body: GrantCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    def create(conn: Connection) -> GrantOut:
        now, grace = ctx.clock.now(), ctx.settings.expiry_grace
        return service.render_grant(service.create_grant(conn, ctx.tenant, body, now, grace))

    with fields_in("body"):
        return run_create(ctx, idempotency_key, "POST /v1/credit-grants", body, create)


@router.get("/v1/credit-grants/{grant_id}", response_model=GrantOut)
def get_grant(grant_id: str, ctx: ReadCtx) -> GrantOut:
    with ctx.database.read() as conn:
        return service.render_grant(service.get_grant(conn, ctx.tenant, grant_id, ctx.clock.now()))


@router.get("/v1/credit-grants", response_model=Page[GrantOut])
def list_grants(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    customer_id: str | None = None,
    currency_id: str | None = None,
    status: GrantStatus | None = None,
) -> Page[GrantOut]:
    """Newest first. ``status`` is the status each grant reads as now."""
    filters = GrantFilter(
        customer_id=_query_id("customer", "customer_id", customer_id),
        currency_id=_query_id("currency", "currency_id", currency_id),
    )
    page = cursor("credit_grant", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        found = read.grants(conn, ctx.tenant, filters, page, ctx.clock.now(), status)
    return page_of(found, service.render_grant)


def _close(
    ctx: RequestContext, grant_id: str, idempotency_key: str | None, action: str
) -> Response:
    def close(conn: Connection) -> GrantOut:
        now, grace = ctx.clock.now(), ctx.settings.expiry_grace
        if action == "void":
            row = service.void_grant(conn, ctx.tenant, grant_id, now, grace)
        else:
            row = service.expire_grant(conn, ctx.tenant, grant_id, now, grace)
        return service.render_grant(row)

    route = f"POST /v1/credit-grants/{grant_id}/{action}"
    return run_create(ctx, idempotency_key, route, None, close, status_code=200)


@router.post("/v1/credit-grants/{grant_id}/void", response_model=GrantOut)
def void_grant(grant_id: str, ctx: WriteCtx, idempotency_key: IdempotencyKey = None) -> Response:
    return _close(ctx, grant_id, idempotency_key, "void")


@router.post("/v1/credit-grants/{grant_id}/expire", response_model=GrantOut)
def expire_grant(grant_id: str, ctx: WriteCtx, idempotency_key: IdempotencyKey = None) -> Response:
    return _close(ctx, grant_id, idempotency_key, "expire")


def _query_id(kind: str, name: str, value: str | None) -> Any:
    if value is None:
        return None
    parsed = parse_id(kind, value)
    if parsed is None:
        raise request_field(["query", name], f"is not a valid {kind} id")
    return parsed


@router.get("/v1/credit-transactions", response_model=Page[LedgerEntryOut])
def list_entries(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    customer_id: str | None = None,
    currency_id: str | None = None,
    grant_id: str | None = None,
    event_id: str | None = None,
    type: EntryType | None = None,
    created_from: Annotated[QueryInstant | None, Query(alias="from")] = None,
    created_to: Annotated[QueryInstant | None, Query(alias="to")] = None,
) -> Page[LedgerEntryOut]:
    filters = EntryFilter(
        customer_id=_query_id("customer", "customer_id", customer_id),
        currency_id=_query_id("currency", "currency_id", currency_id),
        grant_id=_query_id("credit_grant", "grant_id", grant_id),
        event_id=_query_id("event", "event_id", event_id),
        types=None if type is None else (type,),
        created_from=created_from,
        created_to=created_to,
    )
    page = cursor("ledger_entry", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        return page_of(read.entries(conn, ctx.tenant, filters, page), service.render_entry)


@router.get("/v1/credit-transactions/{entry_id}", response_model=LedgerEntryOut)
def get_entry(entry_id: str, ctx: ReadCtx) -> LedgerEntryOut:
    with ctx.database.read() as conn:
        return service.render_entry(service.get_entry(conn, ctx.tenant, entry_id))


@router.get("/v1/customers/{customer_id}/balances", response_model=BalanceList)
def balances(customer_id: str, ctx: ReadCtx) -> BalanceList:
    with ctx.database.read() as conn:
        customer = get_customer(conn, ctx.tenant, customer_id)
        return BalanceList(data=service.balances(conn, ctx.tenant, customer, ctx.clock.now()))


@router.get("/v1/customers/external/{external_id}/balances", response_model=BalanceList)
def balances_by_external_id(external_id: str, ctx: ReadCtx) -> BalanceList:
    with ctx.database.read() as conn:
        customer = get_customer_by_external_id(conn, ctx.tenant, external_id)
        return BalanceList(data=service.balances(conn, ctx.tenant, customer, ctx.clock.now()))


MeterParam = Annotated[str, Query(description="Meter id or event_name", max_length=255)]


def _access(ctx: RequestContext, customer: tuple[str | None, str | None], meter: str) -> Response:
    with fields_in("query"), ctx.database.read_once() as conn:
        out = service.access(conn, ctx.tenant, customer, meter, ctx.clock.now())
    # Built by the service from typed values: serialised once, not validated again.
    return Response(out.model_dump_json(), media_type="application/json")


# In the thread pool, not on the event loop: measured under load, a blocking database round
# trip on the loop left each worker one check in flight, and throughput fell by half.
@router.get("/v1/customers/{customer_id}/access", response_model=AccessOut)
def access(customer_id: str, meter: MeterParam, ctx: ReadCtx) -> Response:
    return _access(ctx, (customer_id, None), meter)


@router.get("/v1/customers/external/{external_id}/access", response_model=AccessOut)
def access_by_external_id(external_id: str, meter: MeterParam, ctx: ReadCtx) -> Response:
    return _access(ctx, (None, external_id), meter)
