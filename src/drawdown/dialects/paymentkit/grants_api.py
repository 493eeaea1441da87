"""``/paymentkit/api/credit-grants``: Payment Kit's credit grant routes over drawdown's
credits (grants, summary, availability)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown.credits import read
from drawdown.credits import service as credits
from drawdown.credits.read import GrantFilter
from drawdown.currencies import service as currencies
from drawdown.dialects.paymentkit import credits_service as grants
from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.customers import find_customer, require_customer
from drawdown.dialects.paymentkit.routing import (
    PageParam,
    PageSizeParam,
    PaymentKitRoute,
    ReadPk,
    WritePk,
)
from drawdown.dialects.paymentkit.schemas import (
    CreditGrantCreate,
    CreditGrantUpdate,
    PkCreditGrant,
    PkPage,
    Success,
)
from drawdown.errors import request_field
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.paging import Numbered

__all__ = ["router"]

router = APIRouter(prefix="/paymentkit/api/credit-grants", route_class=PaymentKitRoute)

PkGrantStatus = Literal["pending", "granted", "depleted", "expired", "voided"]
CustomerRef = Annotated[str, Query(min_length=1, max_length=255, description="cus_ id or DID")]
BaseUnits = Annotated[str, Query(pattern=r"^\d{1,30}$", description="Base units")]


@router.post("", response_model=PkCreditGrant)
def create_grant(
    body: CreditGrantCreate, ctx: WritePk, idempotency_key: IdempotencyKey = None
) -> Response:
    def create(conn: Connection) -> PkCreditGrant:
        row = grants.create_grant(conn, ctx.tenant, body, ctx.clock.now())
        return grants.render_grants(conn, ctx.tenant, [row], ctx.clock.now())[0]

    route = "POST /paymentkit/api/credit-grants"
    return run_create(ctx, idempotency_key, route, body, create, status_code=200)


@router.get("", response_model=PkPage)
def list_grants(
    ctx: ReadPk,
    page: PageParam = 1,
    page_size: PageSizeParam = 20,
    customer_id: Annotated[str | None, Query(max_length=255)] = None,
    currency_id: Annotated[str | None, Query(max_length=64)] = None,
    status: PkGrantStatus | None = None,
) -> PkPage:
    now = ctx.clock.now()
    with ctx.database.read() as conn:
        owner = None
        if customer_id is not None:
            customer = find_customer(conn, ctx.tenant, customer_id)
            if customer is None:
                return render.page([], 0, page, page_size)
            owner = customer.id
        currency = None
        if currency_id is not None:
            currency = currencies.get_currency(conn, ctx.tenant, currency_id).id
        native_status = None if status is None else grants.STATUS_FROM_PK.get(status, status)
        found = read.grants(
            conn,
            ctx.tenant,
            GrantFilter(owner, currency),
            Numbered(page, page_size),
            now,
            native_status,
        )
        items = grants.render_grants(conn, ctx.tenant, found.items, now)
    return render.page(items, found.total or 0, page, page_size)


@router.get("/summary")
def summary(
    ctx: ReadPk,
    customer_id: CustomerRef,
    subscription_id: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    with ctx.database.read() as conn:
        customer = find_customer(conn, ctx.tenant, customer_id)
        if customer is None:
            return {}
        return grants.summary(conn, ctx.tenant, customer, ctx.clock.now())


@router.get("/verify-availability")
def verify_availability(
    ctx: ReadPk,
    customer_id: CustomerRef,
    currency_id: Annotated[str, Query(min_length=1, max_length=64)],
    pending_amount: BaseUnits | None = None,
    max_recharge_times: Annotated[int | None, Query(ge=0)] = None,
    max_pending_amount: BaseUnits | None = None,
) -> dict[str, Any]:
    """May this customer keep consuming? drawdown has no auto-recharge, so the answer is
    whether the credits available now exceed ``pending_amount`` (base units, default 0)."""
    with ctx.database.read() as conn:
        customer = require_customer(conn, ctx.tenant, customer_id, ["query", "customer_id"])
        available, debt = grants.available_units(
            conn, ctx.tenant, customer, currency_id, ctx.clock.now()
        )
    pending = int(pending_amount or 0)
    if available > pending:
        return {"can_continue": True}
    reason = f"insufficient credits: available {available}, pending {pending}, debt {debt}"
    return {"can_continue": False, "reason": reason}


@router.get("/{grant_id}", response_model=PkCreditGrant)
def retrieve_grant(grant_id: str, ctx: ReadPk) -> PkCreditGrant:
    with ctx.database.read() as conn:
        row = credits.get_grant(conn, ctx.tenant, grant_id, ctx.clock.now())
        return grants.render_grants(conn, ctx.tenant, [row], ctx.clock.now())[0]


@router.put("/{grant_id}", response_model=Success)
def update_grant(grant_id: str, body: CreditGrantUpdate, ctx: WritePk) -> Success:
    """``{metadata}`` replaces the metadata; ``{expired: true}`` expires the grant now
    (its remaining leaves with an expiration entry)."""
    if body.expired is False:
        raise request_field(
            ["body", "expired"], "only true is allowed (a grant cannot be un-expired)"
        )
    now = ctx.clock.now()
    with ctx.database.write() as conn:
        if body.metadata is not None:
            credits.update_grant_metadata(conn, ctx.tenant, grant_id, body.metadata, now)
        if body.expired:
            credits.expire_grant(conn, ctx.tenant, grant_id, now)
        if body.metadata is None and not body.expired:
            credits.get_grant(conn, ctx.tenant, grant_id, now)  # 404 for an unknown grant
    return Success(success=True)
