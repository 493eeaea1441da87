"""Customer rules: external_id unique among live customers of a tenant and fixed once set;
deletion is soft (history keeps pointing at the customer)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from drawdown.clock import utcnow
from drawdown.customers import store
from drawdown.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from drawdown.db.scope import lock_external_ids
from drawdown.errors import ConflictError, NotFoundError, field
from drawdown.ids import new_id, parse_id
from drawdown.paging import PageRequest, Slice
from drawdown.records import CustomerRecord
from drawdown.tenancy import Tenant
from drawdown.webhooks.outbox import OutboxEvent, emit

__all__ = [
    "create_customer",
    "customers_page",
    "delete_customer",
    "get_customer",
    "get_customer_by_external_id",
    "get_customers",
    "render",
    "resolve_customer",
    "update_customer",
]


def render(row: CustomerRecord) -> CustomerOut:
    return CustomerOut(
        id=row.id,
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
) -> CustomerRecord:
    if body.external_id is not None:
        lock_external_ids(conn, tenant, [body.external_id])
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
    # The events already stored under the external id are claimed by drawdown.flows.
    created = _stored(conn, tenant, customer_id)
    _emit(conn, tenant, "customer.created", created, now)
    return created


def _emit(conn: Connection, tenant: Tenant, type_: str, row: CustomerRecord, now: datetime) -> None:
    emit(conn, tenant, OutboxEvent(type_, render(row).model_dump(mode="json"), now))


def _stored(conn: Connection, tenant: Tenant, customer_id: uuid.UUID) -> CustomerRecord:
    row = store.get_by_id(conn, tenant, customer_id)
    assert row is not None, "written in this transaction"
    return row


def get_customer(conn: Connection, tenant: Tenant, customer_id: str) -> CustomerRecord:
    parsed = parse_id("customer", customer_id)
    row = None if parsed is None else store.get_by_id(conn, tenant, parsed)
    if row is None:
        raise NotFoundError(f"No customer {customer_id}")
    return row


def get_customers(
    conn: Connection, tenant: Tenant, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CustomerRecord]:
    """The live customers among these ids, by id (one query)."""
    return store.by_ids(conn, tenant, customer_ids)


def get_customer_by_external_id(
    conn: Connection, tenant: Tenant, external_id: str
) -> CustomerRecord:
    row = store.get_by_external_id(conn, tenant, external_id)
    if row is None:
        raise NotFoundError(f"No customer with external_id {external_id!r}")
    return row


def customers_page(
    conn: Connection,
    tenant: Tenant,
    page: PageRequest,
    *,
    email: str | None = None,
    external_id: str | None = None,
    q: str | None = None,
) -> Slice[CustomerRecord]:
    """One page of the tenant's live customers; ``q`` searches name, email and external id."""
    return store.customers_page(conn, tenant, page, email=email, external_id=external_id, q=q)


def resolve_customer(
    conn: Connection,
    tenant: Tenant,
    customer_id: str | None,
    external_customer_id: str | None,
    loc: str = "customer_id",
) -> CustomerRecord:
    """The customer named by id or by external id, for request bodies that accept either;
    an unknown one is a 422 naming the field."""
    if customer_id is not None:
        parsed = parse_id("customer", customer_id)
        row = None if parsed is None else store.get_by_id(conn, tenant, parsed)
        if row is None:
            raise field(loc, f"no customer {customer_id}")
        return row
    if external_customer_id is not None:
        row = store.get_by_external_id(conn, tenant, external_customer_id)
        if row is None:
            raise field("external_customer_id", f"no customer {external_customer_id!r}")
        return row
    raise field(loc, "customer_id or external_customer_id is required")


def update_customer(
    conn: Connection,
    tenant: Tenant,
    row: CustomerRecord,
    body: CustomerUpdate,
    now: datetime | None = None,
) -> CustomerRecord:
    now = now or utcnow()
    changes = body.model_dump(exclude_unset=True)
    if "external_id" in changes:
        new_external = changes["external_id"]
        if row.external_id is None and new_external is not None:
            lock_external_ids(conn, tenant, [new_external])
        if row.external_id is not None and new_external != row.external_id:
            raise field("external_id", "cannot be changed once set")
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
    updated = _stored(conn, tenant, row.id)
    if changes:
        _emit(conn, tenant, "customer.updated", updated, now)
    return updated


def delete_customer(conn: Connection, row: CustomerRecord) -> None:
    now = utcnow()
    owner = Tenant(row.organization_id, row.mode)  # the row was read through its tenant
    store.update_customer(conn, owner, row.id, {"deleted_at": now}, now)
    _emit(conn, owner, "customer.deleted", row, now)
