from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from drawdown.db.scope import select_owned, update_owned
from drawdown.db.tables import api_keys, blocklet_app_keys, organizations, server_secrets
from drawdown.tenancy import Tenant

__all__ = [
    "active_app_keys",
    "count_organizations",
    "find_key_by_hash",
    "get_key",
    "get_or_create_secret",
    "insert_app_key",
    "insert_key",
    "insert_organization",
    "list_app_keys",
    "list_keys",
    "list_tenant_keys",
    "organization_ids",
    "revoke_app_key",
    "revoke_key",
    "revoke_tenant_key",
]


def count_organizations(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(organizations)).scalar_one())


def organization_ids(conn: Connection) -> list[uuid.UUID]:
    return list(conn.execute(select(organizations.c.id).order_by(organizations.c.id)).scalars())


def insert_organization(conn: Connection, org_id: uuid.UUID, name: str, now: datetime) -> None:
    conn.execute(insert(organizations).values(id=org_id, name=name, created_at=now))


def insert_key(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(api_keys).values(**values))


def find_key_by_hash(conn: Connection, secret_sha256: str) -> Any:
    return conn.execute(
        select(api_keys).where(api_keys.c.secret_sha256 == secret_sha256)
    ).one_or_none()


def list_keys(conn: Connection, organization_id: uuid.UUID | None) -> list[Any]:
    query = select(api_keys).order_by(api_keys.c.id)
    if organization_id is not None:
        query = query.where(api_keys.c.organization_id == organization_id)
    return list(conn.execute(query))


def revoke_key(conn: Connection, key_id: uuid.UUID, now: datetime) -> bool:
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def get_key(conn: Connection, key_id: uuid.UUID) -> Any:
    return conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one_or_none()


def list_tenant_keys(conn: Connection, tenant: Tenant) -> list[Any]:
    query = select_owned(tenant, api_keys).order_by(api_keys.c.id.desc())
    return list(conn.execute(query))


def revoke_tenant_key(conn: Connection, tenant: Tenant, key_id: uuid.UUID, now: datetime) -> bool:
    result = conn.execute(
        update_owned(tenant, api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def get_or_create_secret(conn: Connection, name: str, value: str, now: datetime) -> str:
    """The stored secret called ``name``; ``value`` is stored first when there is none (the
    first process to commit wins, the others read its value)."""
    try:
        with conn.begin_nested():
            conn.execute(insert(server_secrets).values(name=name, value=value, created_at=now))
    except IntegrityError:
        pass
    query = select(server_secrets.c.value).where(server_secrets.c.name == name)
    return str(conn.execute(query).scalar_one())


def insert_app_key(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(blocklet_app_keys).values(**values))


def active_app_keys(conn: Connection, public_key: str | None = None) -> list[Any]:
    """Every unrevoked app key (or those with ``public_key``): signatures name no key, so
    the verifier tries each."""
    query = select(blocklet_app_keys).where(blocklet_app_keys.c.revoked_at.is_(None))
    if public_key is not None:
        query = query.where(blocklet_app_keys.c.public_key == public_key)
    return list(conn.execute(query.order_by(blocklet_app_keys.c.id)))


def list_app_keys(conn: Connection, organization_id: uuid.UUID | None) -> list[Any]:
    query = select(blocklet_app_keys).order_by(blocklet_app_keys.c.id)
    if organization_id is not None:
        query = query.where(blocklet_app_keys.c.organization_id == organization_id)
    return list(conn.execute(query))


def revoke_app_key(conn: Connection, key_id: uuid.UUID, now: datetime) -> bool:
    result = conn.execute(
        update(blocklet_app_keys)
        .where(blocklet_app_keys.c.id == key_id, blocklet_app_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1
