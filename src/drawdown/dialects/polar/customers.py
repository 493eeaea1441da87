"""Polar's customers API over drawdown.customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown import flows
from drawdown.customers import schemas as native
from drawdown.customers import service, store
from drawdown.dialects.polar.errors import PolarRoute
from drawdown.dialects.polar.pagination import (
    ListResource,
    NoMetadataFilter,
    PageParam,
    PerPageParam,
    SortingParam,
    numbered,
    resource,
)
from drawdown.dialects.polar.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    CustomerUpdateExternalID,
)
from drawdown.dialects.polar.translate import customer_out
from drawdown.errors import ConflictError, ValidationFailed
from drawdown.http.deps import ReadCtx, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.http.idempotency import IdempotencyKey, run_create
from drawdown.tenancy import Tenant

__all__ = ["reject_organization_id", "router"]

router = APIRouter(prefix="/polar/v1/customers", tags=["polar"], route_class=PolarRoute)

EXTERNAL_ID_TAKEN = "A customer with this external ID already exists."
# The fields of Polar's customer bodies that drawdown keeps.
_KEPT = ("email", "name", "metadata", "external_id")


def reject_organization_id(value: str | None, loc: list[str | int]) -> None:
    """Polar refuses ``organization_id`` from an organization token; a drawdown API key
    always belongs to one organization, so it is refused here too."""
    if value is not None:
        msg = "Setting organization_id is disallowed when using an organization token."
        raise ValidationFailed([(loc, msg)], placed=True)


def _taken_is_invalid(exc: ConflictError) -> ValidationFailed | ConflictError:
    # Polar answers a duplicate external_id with a 422 on the field, not a 409.
    if exc.code == "external_id_taken":
        return ValidationFailed([(["body", "external_id"], EXTERNAL_ID_TAKEN)], placed=True)
    return exc


def _create(conn: Connection, tenant: Tenant, body: CustomerCreate) -> CustomerOut:
    kept = body.model_dump(include=set(_KEPT), exclude_none=True)
    try:
        row = flows.create_customer(conn, tenant, native.CustomerCreate(**kept))
    except ConflictError as exc:
        raise _taken_is_invalid(exc) from None
    return customer_out(row)


def _update(
    conn: Connection, tenant: Tenant, row: Any, body: CustomerUpdate | CustomerUpdateExternalID
) -> CustomerOut:
    changes = body.model_dump(include=set(_KEPT), exclude_unset=True)
    try:
        with fields_in("body"):
            updated = flows.update_customer(conn, tenant, row, native.CustomerUpdate(**changes))
    except ConflictError as exc:
        raise _taken_is_invalid(exc) from None
    return customer_out(updated)


@router.post("/", status_code=201, response_model=CustomerOut, summary="Create Customer")
def create_customer(
    body: CustomerCreate, ctx: WriteCtx, idempotency_key: IdempotencyKey = None
) -> Response:
    reject_organization_id(body.organization_id, ["body", "organization_id"])
    return run_create(
        ctx,
        idempotency_key,
        "POST /polar/v1/customers/",
        body,
        lambda conn: _create(conn, ctx.tenant, body),
    )


@router.get(
    "/",
    response_model=ListResource[CustomerOut],
    summary="List Customers",
    dependencies=[NoMetadataFilter],
)
def list_customers(
    ctx: ReadCtx,
    email: Annotated[str | None, Query(max_length=320)] = None,
    query: Annotated[str | None, Query(max_length=255)] = None,
    page: PageParam = 1,
    limit: PerPageParam = 10,
    sorting: SortingParam = None,
) -> ListResource[CustomerOut]:
    wanted = numbered(sorting, store.SORT_FIELDS, ["-created_at"], page, limit)
    with ctx.database.read() as conn:
        found = store.customers_page(conn, ctx.tenant, wanted, email=email, q=query)
    return resource(found, customer_out, limit)


@router.get("/external/{external_id}", response_model=CustomerOut)
def get_customer_external(external_id: str, ctx: ReadCtx) -> CustomerOut:
    with ctx.database.read() as conn:
        return customer_out(service.get_customer_by_external_id(conn, ctx.tenant, external_id))


@router.patch("/external/{external_id}", response_model=CustomerOut)
def update_customer_external(
    external_id: str, body: CustomerUpdateExternalID, ctx: WriteCtx
) -> CustomerOut:
    with ctx.database.write() as conn:
        row = service.get_customer_by_external_id(conn, ctx.tenant, external_id)
        return _update(conn, ctx.tenant, row, body)


@router.delete("/external/{external_id}", status_code=204)
def delete_customer_external(external_id: str, ctx: WriteCtx, anonymize: bool = False) -> Response:
    with ctx.database.write() as conn:
        row = service.get_customer_by_external_id(conn, ctx.tenant, external_id)
        flows.delete_customer(conn, ctx.tenant, row, ctx.clock.now(), ctx.settings.expiry_grace)
    return Response(status_code=204)


@router.get("/{id}", response_model=CustomerOut)
def get_customer(id: str, ctx: ReadCtx) -> CustomerOut:
    with ctx.database.read() as conn:
        return customer_out(service.get_customer(conn, ctx.tenant, id))


@router.patch("/{id}", response_model=CustomerOut)
def update_customer(id: str, body: CustomerUpdate, ctx: WriteCtx) -> CustomerOut:
    with ctx.database.write() as conn:
        row = service.get_customer(conn, ctx.tenant, id)
        return _update(conn, ctx.tenant, row, body)


@router.delete("/{id}", status_code=204)
def delete_customer(id: str, ctx: WriteCtx, anonymize: bool = False) -> Response:
    with ctx.database.write() as conn:
        row = service.get_customer(conn, ctx.tenant, id)
        flows.delete_customer(conn, ctx.tenant, row, ctx.clock.now(), ctx.settings.expiry_grace)
    return Response(status_code=204)
