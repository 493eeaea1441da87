from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from drawdown import flows
from drawdown.customers import service
from drawdown.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from drawdown.http.deps import ReadCtx, WriteCtx
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

__all__ = ["router"]

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.post("", status_code=201, response_model=CustomerOut)
def create_customer(
    body: CustomerCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    return run_create(
        ctx,
        idempotency_key,
        "POST /v1/customers",
        body,
        lambda conn: service.render(flows.create_customer(conn, ctx.tenant, body, ctx.clock.now())),
    )


@router.get("", response_model=Page[CustomerOut])
def list_customers(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    external_id: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[
        str | None, Query(max_length=255, description="Search name/email/external_id")
    ] = None,
) -> Page[CustomerOut]:
    page = cursor("customer", limit, starting_after, ctx.settings.max_page_limit)
    with ctx.database.read() as conn:
        found = service.customers_page(
            conn, ctx.tenant, page, email=email, external_id=external_id, q=q
        )
    return page_of(found, service.render)


@router.get("/external/{external_id}", response_model=CustomerOut)
def get_customer_by_external_id(external_id: str, ctx: ReadCtx) -> CustomerOut:
    with ctx.database.read() as conn:
        return service.render(service.get_customer_by_external_id(conn, ctx.tenant, external_id))


@router.patch("/external/{external_id}", response_model=CustomerOut)
def update_customer_by_external_id(
    external_id: str, body: CustomerUpdate, ctx: WriteCtx
) -> CustomerOut:
    with fields_in("body"), ctx.database.write() as conn:
        row = service.get_customer_by_external_id(conn, ctx.tenant, external_id)
        return service.render(flows.update_customer(conn, ctx.tenant, row, body, ctx.clock.now()))


@router.delete("/external/{external_id}", status_code=204)
def delete_customer_by_external_id(external_id: str, ctx: WriteCtx) -> Response:
    with ctx.database.write() as conn:
        row = service.get_customer_by_external_id(conn, ctx.tenant, external_id)
        flows.delete_customer(conn, ctx.tenant, row, ctx.clock.now(), ctx.settings.expiry_grace)
    return Response(status_code=204)


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, ctx: ReadCtx) -> CustomerOut:
    with ctx.database.read() as conn:
        return service.render(service.get_customer(conn, ctx.tenant, customer_id))


@router.patch("/{customer_id}", response_model=CustomerOut)
def update_customer(customer_id: str, body: CustomerUpdate, ctx: WriteCtx) -> CustomerOut:
    with fields_in("body"), ctx.database.write() as conn:
        row = service.get_customer(conn, ctx.tenant, customer_id)
        return service.render(flows.update_customer(conn, ctx.tenant, row, body, ctx.clock.now()))


@router.delete("/{customer_id}", status_code=204)
def delete_customer(customer_id: str, ctx: WriteCtx) -> Response:
    with ctx.database.write() as conn:
        row = service.get_customer(conn, ctx.tenant, customer_id)
        flows.delete_customer(conn, ctx.tenant, row, ctx.clock.now(), ctx.settings.expiry_grace)
    return Response(status_code=204)
