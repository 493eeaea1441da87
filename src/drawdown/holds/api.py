"""``/v1/holds``: reserve credits before costly work, then capture or release (a hold
reserves available balance, it moves no money). Creating, capturing and releasing need an
``ingest`` (or ``full``) key: they are what an app backend does on its hot path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown.credits import holds
from drawdown.credits.schemas import (
    HoldCapture,
    HoldCreate,
    HoldOut,
    HoldRelease,
    HoldStatus,
)
from drawdown.customers.service import get_customer
from drawdown.errors import request_field
from drawdown.holds import service
from drawdown.http.deps import IngestCtx, ReadCtx, RequestContext
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

__all__ = ["router"]

router = APIRouter(tags=["holds"])


@router.post(
    "/v1/holds",
    status_code=201,
    response_model=HoldOut,
    responses={402: {"description": "The hold does not fit the available balance"}},
)
def create_hold(
    body: HoldCreate, ctx: IngestCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    def create(conn: Connection) -> HoldOut:
        now = ctx.clock.now()
        row, available = holds.create_hold(conn, ctx.tenant, body, now, ctx.settings.expiry_grace)
        return holds.render_hold(row, now, available)

    with fields_in("body"):
        return run_create(ctx, idempotency_key, "POST /v1/holds", body, create)


@router.post("/v1/holds/{hold_id}/capture", response_model=HoldOut)
def capture_hold(
    hold_id: str, body: HoldCapture, ctx: IngestCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    def capture(conn: Connection) -> HoldOut:
        now = ctx.clock.now()
        row, available = service.capture(conn, ctx.tenant, ctx.settings, hold_id, body, now)
        return holds.render_hold(row, now, available)

    route = f"POST /v1/holds/{hold_id}/capture"
    with fields_in("body"):
        return run_create(ctx, idempotency_key, route, body, capture, status_code=200)


@router.post("/v1/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(
    hold_id: str,
    ctx: IngestCtx,
    body: HoldRelease | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    body = body or HoldRelease()

    def release(conn: Connection) -> HoldOut:
        now = ctx.clock.now()
        grace = ctx.settings.expiry_grace
        row, available = holds.release_hold(conn, ctx.tenant, hold_id, body.reason, now, grace)
        return holds.render_hold(row, now, available)

    route = f"POST /v1/holds/{hold_id}/release"
    return run_create(ctx, idempotency_key, route, body, release, status_code=200)


@router.get("/v1/holds/{hold_id}", response_model=HoldOut)
def get_hold(hold_id: str, ctx: ReadCtx) -> HoldOut:
    with ctx.database.read() as conn:
        return holds.render_hold(holds.get_hold(conn, ctx.tenant, hold_id), ctx.clock.now())


StatusParam = Annotated[HoldStatus | None, Query(description="As read now")]


def _list(
    ctx: RequestContext,
    customer_id: str | None,
    status: HoldStatus | None,
    limit: int,
    starting_after: str | None,
) -> Page[HoldOut]:
    now = ctx.clock.now()
    page = cursor("hold", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        customer = None
        if customer_id is not None:
            if parse_id("customer", customer_id) is None:
                raise request_field(["query", "customer_id"], "is not a valid customer id")
            customer = get_customer(conn, ctx.tenant, customer_id).id
        statuses = [status] if status else None
        found = holds.holds_page(conn, ctx.tenant, customer, statuses, now, page)
    return page_of(found, lambda row: holds.render_hold(row, now))


@router.get("/v1/holds", response_model=Page[HoldOut])
def list_holds(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    customer_id: str | None = None,
    status: StatusParam = None,
) -> Page[HoldOut]:
    """Newest first."""
    return _list(ctx, customer_id, status, limit, starting_after)


@router.get("/v1/customers/{customer_id}/holds", response_model=Page[HoldOut])
def list_customer_holds(
    customer_id: str,
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    status: StatusParam = None,
) -> Page[HoldOut]:
    """A customer's holds, newest first."""
    return _list(ctx, customer_id, status, limit, starting_after)
