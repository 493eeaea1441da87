from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown.credits import service, store
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
from drawdown.errors import field
from drawdown.http.deps import ReadCtx, RequestContext, WriteCtx
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    paginate,
)
from drawdown.ids import parse_id

__all__ = ["router"]

router = APIRouter(tags=["credits"])


@router.post("/v1/credit-grants", status_code=201, response_model=GrantOut)
def create_grant(
    body: GrantCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    def create(conn: Connection) -> GrantOut:
        now, grace = ctx.clock.now(), ctx.settings.expiry_grace
        return service.render_grant(service.create_grant(conn, ctx.tenant, body, now, grace))

    return run_create(ctx, idempotency_key, "POST /v1/credit-grants", body, create)


def _render_grants(conn: Connection, ctx: RequestContext, rows: list[Any]) -> list[GrantOut]:
    states = service.project_grants(conn, ctx.tenant, rows, ctx.clock.now())
    return [service.render_grant(row, states.get(row.id)) for row in rows]


@router.get("/v1/credit-grants/{grant_id}", response_model=GrantOut)
def get_grant(grant_id: str, ctx: ReadCtx) -> GrantOut:
    with ctx.database.read() as conn:
        return _render_grants(conn, ctx, [service.get_grant(conn, ctx.tenant, grant_id)])[0]


# A stored status can read differently once the clock is applied (rule 8): these stored
# statuses are the ones that may read as the status asked for.
_STORED_STATUSES: dict[str, tuple[str, ...]] = {
    "pending": ("pending",),
    "active": ("pending", "active"),
    "depleted": ("pending", "depleted"),
    "expired": ("pending", "active", "expired"),
    "voided": ("voided",),
}


@router.get("/v1/credit-grants", response_model=Page[GrantOut])
def list_grants(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    customer_id: str | None = None,
    currency_id: str | None = None,
    status: GrantStatus | None = None,
) -> Page[GrantOut]:
    """Newest first. With a status filter a page may hold fewer than ``limit`` items while
    ``has_more`` is true: keep following the cursor."""
    query = store.grant_list_query(
        ctx.tenant,
        customer_id=_query_id("customer", "customer_id", customer_id),
        currency_id=_query_id("currency", "currency_id", currency_id),
        statuses=_STORED_STATUSES[status] if status else None,
    )
    with ctx.database.read() as conn:
        page = paginate(
            conn,
            query,
            store.g.id,
            kind="credit_grant",
            limit=limit,
            max_limit=ctx.settings.max_page_limit,
            starting_after=starting_after,
            render=lambda row: row,
        )
        rendered = _render_grants(conn, ctx, page.data)
    if status is not None:
        rendered = [grant for grant in rendered if grant.status == status]
    return Page[GrantOut](data=rendered, has_more=page.has_more)


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
        raise field(["query", name], f"is not a valid {kind} id")
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
    created_from: Annotated[datetime | None, Query(alias="from")] = None,
    created_to: Annotated[datetime | None, Query(alias="to")] = None,
) -> Page[LedgerEntryOut]:
    filters = {
        "customer_id": _query_id("customer", "customer_id", customer_id),
        "currency_id": _query_id("currency", "currency_id", currency_id),
        "grant_id": _query_id("credit_grant", "grant_id", grant_id),
        "event_id": _query_id("event", "event_id", event_id),
        "type": type,
        "created_from": created_from,
        "created_to": created_to,
    }
    with ctx.database.read() as conn:
        return paginate(
            conn,
            store.ledger_list_query(ctx.tenant, filters),
            store.e.id,
            kind="ledger_entry",
            limit=limit,
            max_limit=ctx.settings.max_page_limit,
            starting_after=starting_after,
            render=service.render_entry,
        )


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


@router.get("/v1/customers/{customer_id}/access", response_model=AccessOut)
def access(customer_id: str, meter: MeterParam, ctx: ReadCtx) -> AccessOut:
    with ctx.database.read() as conn:
        return service.access(conn, ctx.tenant, (customer_id, None), meter, ctx.clock.now())


@router.get("/v1/customers/external/{external_id}/access", response_model=AccessOut)
def access_by_external_id(external_id: str, meter: MeterParam, ctx: ReadCtx) -> AccessOut:
    with ctx.database.read() as conn:
        return service.access(conn, ctx.tenant, (None, external_id), meter, ctx.clock.now())
