"""Customer rules: external_id unique among live customers of a tenant and fixed once set;
deletion is soft (history keeps pointing at the customer)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from drawdown.clock import utcnow
from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits.closing import close_customer_credits
from drawdown.customers import store
from drawdown.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from drawdown.errors import ConflictError, NotFoundError, field
from drawdown.events.service import claim_customer_events
from drawdown.ids import new_id, parse_id, render_id
from drawdown.tenancy import Tenant

__all__ = [
    "create_customer",
    "delete_customer",
    "get_customer",
    "get_customer_by_external_id",
    "render",
    "resolve_customer",
    "update_customer",
]


def render(row: Any) -> CustomerOut:
    return CustomerOut(
        id=render_id("customer", row.id),
        external_id=row.external_id,
        email=row.email,
        name=row.name,
        metadata=row.metadata_,
        livemode=row.mode == "live",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _conflict(external_id: str) -> ConflictError:
    return ConflictError(
        f"A customer with external_id {external_id!r} already exists",
        code="external_id_taken",
    )


def create_customer(
    conn: Connection, tenant: Tenant, body: CustomerCreate, now: datetime | None = None
) -> Any:
    if body.external_id is not None:
        store.lock_external_ids(conn, tenant, [body.external_id])
    if body.external_id is not None and store.external_id_taken(conn, tenant, body.external_id):
        raise _conflict(body.external_id)
    now = now or utcnow()
    customer_id = new_id()
    try:
        with conn.begin_nested():
            store.insert_customer(
                conn,
                {
                    "id": customer_id,
                    "organization_id": tenant.organization_id,
                    "mode": tenant.mode,
                    "external_id": body.external_id,
                    "email": body.email,
                    "name": body.name,
                    "metadata_": body.metadata,
                    "created_at": now,
                    "updated_at": now,
                },
            )
    except IntegrityError:
        # Another transaction created the same external_id between our check and insert.
        raise _conflict(body.external_id or "") from None
    if body.external_id is not None:
        _claim_events(conn, tenant, customer_id, body.external_id, now)
    return store.get_by_id(conn, tenant, customer_id)


def _claim_events(
    conn: Connection, tenant: Tenant, customer_id: Any, external_id: str, now: datetime
) -> None:
    """Events already stored under this external id become the customer's and are drawn
    down now (DESIGN rule 11)."""
    claim_customer_events(conn, tenant, customer_id, external_id, now)


def get_customer(conn: Connection, tenant: Tenant, customer_id: str) -> Any:
    parsed = parse_id("customer", customer_id)
    row = None if parsed is None else store.get_by_id(conn, tenant, parsed)
    if row is None:
        raise NotFoundError(f"No customer {customer_id}")
    return row


def get_customer_by_external_id(conn: Connection, tenant: Tenant, external_id: str) -> Any:
    row = store.get_by_external_id(conn, tenant, external_id)
    if row is None:
        raise NotFoundError(f"No customer with external_id {external_id!r}")
    return row


def resolve_customer(
    conn: Connection,
    tenant: Tenant,
    customer_id: str | None,
    external_customer_id: str | None,
    loc: str = "customer_id",
) -> Any:
    """The customer named by id or by external id, for request bodies that accept either;
    an unknown one is a 422 naming the field."""
    if customer_id is not None:
        parsed = parse_id("customer", customer_id)
        row = None if parsed is None else store.get_by_id(conn, tenant, parsed)
        if row is None:
            raise field(["body", loc], f"no customer {customer_id}")
        return row
    if external_customer_id is not None:
        row = store.get_by_external_id(conn, tenant, external_customer_id)
        if row is None:
            raise field(["body", "external_customer_id"], f"no customer {external_customer_id!r}")
        return row
    raise field(["body", loc], "customer_id or external_customer_id is required")


def update_customer(
    conn: Connection, tenant: Tenant, row: Any, body: CustomerUpdate, now: datetime | None = None
) -> Any:
    now = now or utcnow()
    changes = body.model_dump(exclude_unset=True)
    if "external_id" in changes:
        new_external = changes["external_id"]
        if row.external_id is None and new_external is not None:
            store.lock_external_ids(conn, tenant, [new_external])
        if row.external_id is not None and new_external != row.external_id:
            raise field(["body", "external_id"], "cannot be changed once set")
        if (
            row.external_id is None
            and new_external is not None
            and store.external_id_taken(conn, tenant, new_external)
        ):
            raise _conflict(new_external)
    if "metadata" in changes:
        changes["metadata_"] = changes.pop("metadata") or {}
    if changes:
        store.update_customer(conn, tenant, row.id, changes, now)
    if row.external_id is None and changes.get("external_id") is not None:
        _claim_events(conn, tenant, row.id, changes["external_id"], now)
    return store.get_by_id(conn, tenant, row.id)


def delete_customer(
    conn: Connection,
    tenant: Tenant,
    row: Any,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> None:
    """Soft delete (DESIGN rule 19): its open grants are voided and its holds released
    (reason ``customer_deleted``), its history stays, and its external_id is free again:
    events sent for it from now on wait unclaimed, as for any unknown customer."""
    now = now or utcnow()
    close_customer_credits(conn, tenant, row.id, now, grace)
    store.update_customer(conn, tenant, row.id, {"deleted_at": now}, now)
