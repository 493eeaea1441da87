"""The one tenant filter: every query of a tenant-owned table starts from here.

A tenant-owned table is one with ``organization_id`` and ``mode`` columns
(:data:`TENANT_TABLES`, read from the schema, so a new table is covered the day it is
added). Stores build their reads with :func:`select_owned` and their changes with
:func:`update_owned`, which carry the tenant's condition from the first line, the way
Polar's repositories start every read from one "readable statement". The few queries that
really span every tenant (the background clock finding due accounts, the key lookup of
authentication) say so with :func:`every_tenant`, so they stand out in review and in grep.
tests/test_scoping.py proves, route by route, that one tenant's key reads nothing of
another's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    Table,
    Update,
    and_,
    select,
    update,
)

from drawdown.db.portable import advisory_xact_locks
from drawdown.db.tables import metadata
from drawdown.tenancy import Tenant

__all__ = [
    "OWNED_SQL",
    "TENANT_TABLES",
    "every_tenant",
    "lock_external_ids",
    "owned",
    "owned_params",
    "owned_sql",
    "select_owned",
    "update_owned",
]

TENANT_TABLES: frozenset[str] = frozenset(
    table.name
    for table in metadata.sorted_tables
    if "organization_id" in table.c and "mode" in table.c
)


def owned(table: FromClause, tenant: Tenant) -> ColumnElement[bool]:
    """The condition "this row belongs to ``tenant``" on ``table`` (or an alias of it)."""
    return and_(table.c.organization_id == tenant.organization_id, table.c.mode == tenant.mode)


# The same condition for driver-level statements (drawdown.db.portable.DriverSql), with
# :func:`owned_params` as its parameters.
OWNED_SQL = "organization_id = :organization_id AND mode = :mode"


def owned_sql(alias: str) -> str:
    """:data:`OWNED_SQL` on a table aliased ``alias`` in the statement."""
    return f"{alias}.organization_id = :organization_id AND {alias}.mode = :mode"


def owned_params(tenant: Tenant) -> dict[str, object]:
    return {"organization_id": tenant.organization_id, "mode": tenant.mode}


def select_owned(tenant: Tenant, table: Table, *columns: Any) -> Select[Any]:
    """``SELECT columns (default: the whole row) FROM table`` restricted to ``tenant``;
    joins and further conditions are added by the caller."""
    query = select(*columns) if columns else select(table)
    return query.select_from(table).where(owned(table, tenant))


def update_owned(tenant: Tenant, table: Table) -> Update:
    """``UPDATE table`` restricted to ``tenant``'s rows."""
    return update(table).where(owned(table, tenant))


def every_tenant(query: Select[Any]) -> Select[Any]:
    """Mark a read that deliberately spans every tenant (system work, not a request)."""
    return query


def lock_external_ids(conn: Connection, tenant: Tenant, external_ids: Iterable[str]) -> None:
    """Serialize, until commit, the transactions that resolve or create these external ids
    of ``tenant``'s customers.

    Ingest stores an event for an unknown external id while another transaction may be
    creating that customer; without a common lock the creator's claim could miss the event
    and ingest could miss the customer (its events would stay unclaimed). Both customers
    and events take it, so it lives here, beside the tenant it is keyed by."""
    prefix = f"{tenant.organization_id}:{tenant.mode}:"
    advisory_xact_locks(conn, (prefix + external_id for external_id in external_ids))
