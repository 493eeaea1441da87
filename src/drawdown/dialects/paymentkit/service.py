"""Translation between Payment Kit requests and the native services. No rules live here:
each function maps Payment Kit's fields onto a native request, calls the domain service
that owns the rule, and hands back native rows for :mod:`render`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from drawdown.currencies import service as currencies
from drawdown.currencies.schemas import CurrencyCreate
from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.schemas import MeterCreate, MeterUpdate, PkMeter
from drawdown.errors import ValidationFailed
from drawdown.ids import render_id
from drawdown.meters import service as meters
from drawdown.meters.schemas import Aggregation
from drawdown.meters.schemas import MeterCreate as NativeMeterCreate
from drawdown.meters.schemas import MeterUpdate as NativeMeterUpdate
from drawdown.tenancy import Tenant

__all__ = ["VALUE_PROPERTY", "create_meter", "native", "render_meter", "update_meter"]

# The event property a Payment Kit meter aggregates: meter events carry payload.value,
# stored as the native event's properties["value"].
VALUE_PROPERTY = "value"

M = TypeVar("M", bound=BaseModel)


def native(model: type[M], **values: Any) -> M:
    """Build a native request model; its validation failures become 400s naming the
    Payment Kit field (the names are the same) instead of escaping as 500s."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise ValidationFailed(
            [(["body", *err["loc"]], err["msg"]) for err in exc.errors()], placed=True
        ) from None


def render_meter(
    conn: Connection, tenant: Tenant, row: Any, cache: dict[Any, Any] | None = None
) -> PkMeter:
    """A meter with its ``paymentCurrency`` expanded (``cache`` spares a list one currency
    lookup per meter)."""
    cache = {} if cache is None else cache
    if row.currency_id not in cache:
        cache[row.currency_id] = currencies.render(
            currencies.get_currency(conn, tenant, render_id("currency", row.currency_id))
        )
    return render.meter(meters.render(row), cache[row.currency_id])


def _aggregation(method: str) -> Aggregation:
    func = render.AGGREGATION_FROM_PK[method]
    return native(Aggregation, func=func, property=None if func == "count" else VALUE_PROPERTY)


def create_meter(conn: Connection, tenant: Tenant, body: MeterCreate, now: datetime) -> Any:
    currency_id = body.currency_id
    if currency_id is None and body.decimal is not None:
        # Payment Kit's `decimal` sets the places of the credit currency made for the meter.
        made = native(
            CurrencyCreate, name=body.name[:100], symbol=body.unit[:16], decimals=body.decimal
        )
        currency_id = render_id("currency", currencies.create_currency(conn, tenant, made, now).id)
    request = native(
        NativeMeterCreate,
        name=body.name,
        event_name=body.event_name,
        aggregation=_aggregation(body.aggregation_method),
        unit=body.unit,
        description=body.description or "",
        metadata=body.metadata or {},
        currency_id=currency_id,
    )
    return meters.create_meter(conn, tenant, request, now)


def update_meter(
    conn: Connection, tenant: Tenant, ref: str, body: MeterUpdate, now: datetime
) -> Any:
    row = meters.get_meter(conn, tenant, ref)
    changes = body.model_dump(exclude_unset=True, exclude={"status"})
    if changes.get("description", "") is None:
        changes["description"] = ""
    if changes:
        row = meters.update_meter(conn, tenant, row, native(NativeMeterUpdate, **changes), now)
    if body.status is not None:
        row = meters.set_status(conn, tenant, row, body.status, now)
    return row
