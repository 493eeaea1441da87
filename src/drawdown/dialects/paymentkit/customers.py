"""Payment Kit's ``customer_id``: a ``cus_`` id or the user's DID. drawdown keeps a DID as
the customer's ``external_id``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from drawdown import flows
from drawdown.customers import store as customers_store
from drawdown.customers.schemas import CustomerCreate
from drawdown.errors import request_field
from drawdown.ids import parse_id
from drawdown.tenancy import Tenant

__all__ = ["find_customer", "is_customer_id", "require_customer"]


def is_customer_id(ref: str) -> bool:
    """True for drawdown's own ``cus_<uuid>``; anything else is a DID (external id)."""
    return ref.startswith("cus_") and parse_id("customer", ref) is not None


def find_customer(conn: Connection, tenant: Tenant, ref: str) -> Any:
    if is_customer_id(ref):
        parsed = parse_id("customer", ref)
        assert parsed is not None
        return customers_store.get_by_id(conn, tenant, parsed)
    return customers_store.get_by_external_id(conn, tenant, ref)


def require_customer(
    conn: Connection,
    tenant: Tenant,
    ref: str,
    loc: list[str | int],
    *,
    create_at: datetime | None = None,
) -> Any:
    """The customer ``ref`` names. With ``create``, a DID no customer has yet becomes a new
    customer with that external_id (Payment Kit does this for credit grants), created at
    ``create_at`` (its events reported earlier under that DID are drawn down then)."""
    row = find_customer(conn, tenant, ref)
    if row is not None:
        return row
    if create_at is not None and not is_customer_id(ref):
        return flows.create_customer(conn, tenant, CustomerCreate(external_id=ref), create_at)
    raise request_field(loc, f"no customer {ref}")
