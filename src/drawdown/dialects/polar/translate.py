"""Translation helpers: drawdown rows to Polar's shapes and Polar's inputs to drawdown's.

One id, several renderings: Polar shows our UUIDv7 as a plain UUID string."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from drawdown.dialects.polar.schemas import CustomerOut

__all__ = ["customer_out", "modified_at", "polar_id"]


def polar_id(value: uuid.UUID) -> str:
    return str(value)


def modified_at(created_at: datetime, updated_at: datetime) -> datetime | None:
    """Polar's ``modified_at`` is null until the object is first changed."""
    return None if updated_at == created_at else updated_at


def customer_out(row: Any) -> CustomerOut:
    """A customer in Polar's shape. drawdown does not store Polar's ``type``: a customer
    without an email is shown as a ``team`` customer, the only kind Polar allows without
    one, so that the SDKs (which require an email on individuals) can read it."""
    return CustomerOut(
        id=polar_id(row.id),
        created_at=row.created_at,
        modified_at=modified_at(row.created_at, row.updated_at),
        metadata=row.metadata_,
        external_id=row.external_id,
        email=row.email,
        type="individual" if row.email is not None else "team",
        name=row.name,
        billing_name=row.name,
        organization_id=polar_id(row.organization_id),
        deleted_at=row.deleted_at,
    )
