from __future__ import annotations

from fastapi import APIRouter, Response

from drawdown.currencies import service
from drawdown.currencies.schemas import CurrencyCreate, CurrencyOut
from drawdown.http.deps import ReadCtx, WriteCtx
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    cursor,
    page_of,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/currencies", tags=["currencies"])


@router.post("", status_code=201, response_model=CurrencyOut)
def create_currency(
    body: CurrencyCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    return run_create(
        ctx,
        idempotency_key,
        "POST /v1/currencies",
        body,
        lambda conn: service.render(
            service.create_currency(conn, ctx.tenant, body, ctx.clock.now())
        ),
    )


@router.get("", response_model=Page[CurrencyOut])
def list_currencies(
    ctx: ReadCtx, limit: LimitParam = DEFAULT_LIMIT, starting_after: StartingAfterParam = None
) -> Page[CurrencyOut]:
    page = cursor("currency", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        found = service.currencies_page(conn, ctx.tenant, page)
    return page_of(found, service.render)


@router.get("/{currency_id}", response_model=CurrencyOut)
def get_currency(currency_id: str, ctx: ReadCtx) -> CurrencyOut:
    with ctx.database.read() as conn:
        return service.render(service.get_currency(conn, ctx.tenant, currency_id))
