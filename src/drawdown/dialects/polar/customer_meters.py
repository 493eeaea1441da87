"""Polar's customer meters (a customer's balance on a meter) over drawdown.events (usage)
and drawdown.credits (the ledger).

drawdown has no customer-meter object: every (customer, meter) pair is one. Its numbers:

- ``consumed_units``: the meter's aggregation over all the customer's events, negative
  ones included (Polar's "usage since the last reset"; drawdown never resets).
- ``balance``: the customer's ledger balance (available minus debt) in the meter's
  currency, in the meter's units (divided by the meter's rate, 1 for every meter made
  through this API). It can be negative: usage is a fact, uncovered usage is debt.
- ``credited_units``: ``balance + consumed_units`` rounded to an integer (Polar's type), so
  that Polar's ``balance = credited_units - consumed_units`` holds. Credits granted by a
  negative event lower ``consumed_units`` instead, as in Polar.

A pair's id is a UUID that encodes both ids (customer XOR meter XOR a constant), so it is
stable and needs no table; reading one back tries each meter of the organization."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from drawdown.credits import read
from drawdown.credits.read import AccountBalance
from drawdown.customers import service as customer_service
from drawdown.customers import store as customer_store
from drawdown.dialects.polar.errors import PolarRoute
from drawdown.dialects.polar.pagination import (
    MAX_LIMIT,
    ListResource,
    PageParam,
    PerPageParam,
    SortingParam,
    list_resource,
)
from drawdown.dialects.polar.schemas import CustomerMeterOut, CustomerStateMeter, CustomerStateOut
from drawdown.dialects.polar.translate import customer_out, meter_out, polar_id
from drawdown.errors import NotFoundError, ValidationFailed, request_field
from drawdown.events import usage
from drawdown.http.deps import ReadCtx, RequestContext
from drawdown.meters import store as meter_store
from drawdown.money import format_units
from drawdown.records import CustomerRecord, MeterRecord
from drawdown.tenancy import Tenant

__all__ = ["customer_meter_id", "router", "state_router"]

router = APIRouter(prefix="/polar/v1/customer-meters", tags=["polar"], route_class=PolarRoute)
state_router = APIRouter(prefix="/polar/v1/customers", tags=["polar"], route_class=PolarRoute)

_MASK = uuid.uuid5(uuid.NAMESPACE_URL, "drawdown:polar:customer-meter").int
# All of time, for consumed_units (drawdown's usage needs a range).
_EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
MultiParam = Annotated[list[str] | None, Query()]


def customer_meter_id(customer_id: uuid.UUID, meter_id: uuid.UUID) -> uuid.UUID:
    return uuid.UUID(int=customer_id.int ^ meter_id.int ^ _MASK)


def customer_meters(
    conn: Connection, ctx: RequestContext, pairs: Sequence[tuple[Any, Any]]
) -> list[CustomerMeterOut]:
    """The (customer, meter) pairs as Polar's customer meters: one usage query per meter
    of the page and two balance queries, whatever the number of customers."""
    customer_ids = list({customer.id: None for customer, _ in pairs})
    consumed: dict[tuple[uuid.UUID, uuid.UUID], Decimal | None] = {}
    for meter in {meter.id: meter for _, meter in pairs}.values():
        totals = usage.totals_by_customer(conn, ctx.tenant, meter, customer_ids, *_EVER)
        consumed.update({(cid, meter.id): value for cid, value in totals.items()})
    balances = read.balances(conn, ctx.tenant, customer_ids, ctx.clock.now())
    out = []
    for customer, meter in pairs:
        used = consumed.get((customer.id, meter.id)) or Decimal(0)
        owed = [b for b in balances[customer.id] if b.currency_id == meter.currency_id]
        out.append(_customer_meter(customer, meter, used, owed[0] if owed else None))
    return out


def _customer_meter(
    customer: CustomerRecord,
    meter: MeterRecord,
    consumed: Decimal,
    balance_of: AccountBalance | None,
) -> CustomerMeterOut:
    balance = Decimal(0)
    if balance_of is not None:
        units = balance_of.available - balance_of.debt
        balance = Decimal(format_units(units, balance_of.decimals))
    rate = Decimal(meter.rate)
    if rate > 0:
        balance /= rate
    credited = (balance + consumed).to_integral_value(rounding=ROUND_HALF_EVEN)
    return CustomerMeterOut(
        id=polar_id(customer_meter_id(customer.id, meter.id)),
        created_at=max(customer.created_at, meter.created_at),
        modified_at=None,
        customer_id=polar_id(customer.id),
        meter_id=polar_id(meter.id),
        consumed_units=float(consumed),
        credited_units=int(credited),
        balance=float(balance),
        customer=customer_out(customer),
        meter=meter_out(meter),
    )


def _uuids(values: list[str], loc: str) -> list[uuid.UUID]:
    errors: list[tuple[list[str | int], str]] = []
    parsed: list[uuid.UUID] = []
    for index, value in enumerate(values):
        try:
            parsed.append(uuid.UUID(value))
        except ValueError:
            errors.append((["query", loc, index], "Input should be a valid UUID"))
    if errors:
        raise ValidationFailed(errors, placed=True)
    return parsed


def _meters(conn: Connection, tenant: Tenant, meter_ids: list[str]) -> list[Any]:
    """The meters listed: those asked for, else the active ones (Polar leaves archived
    meters out unless they are asked for)."""
    status = None if meter_ids else "active"
    return meter_store.listed(conn, tenant, _uuids(meter_ids, "meter_id"), status=status)


def _page_pairs(
    conn: Connection,
    tenant: Tenant,
    wanted: tuple[list[uuid.UUID], list[str]],
    meter_rows: list[Any],
    page: int,
    limit: int,
) -> tuple[list[tuple[Any, Any]], int]:
    """One page of (customer, meter) pairs, customers newest first, each customer's meters
    by name; and the number of all pairs."""
    per = len(meter_rows)
    ids, external_ids = wanted
    customer_count, _ = customer_store.customers_range(
        conn, tenant, ids=ids, external_ids=external_ids, offset=0, count=0
    )
    total = customer_count * per
    start = (page - 1) * limit
    stop = min(start + limit, total)
    if start >= stop:
        return [], total
    first, last = start // per, (stop - 1) // per
    _, rows = customer_store.customers_range(
        conn, tenant, ids=ids, external_ids=external_ids, offset=first, count=last - first + 1
    )
    pairs = [(c, m) for c in rows for m in meter_rows]
    return pairs[start - first * per : stop - first * per], total


@router.get("/", response_model=ListResource[CustomerMeterOut], summary="List Customer Meters")
def list_customer_meters(
    ctx: ReadCtx,
    customer_id: MultiParam = None,
    external_customer_id: MultiParam = None,
    meter_id: MultiParam = None,
    page: PageParam = 1,
    limit: PerPageParam = 10,
    sorting: SortingParam = None,
) -> ListResource[CustomerMeterOut]:
    """Every (customer, meter) pair: customers newest first, then meters by name."""
    # modified_at is null on every customer meter, so any order honours Polar's default
    # sorting by it; other criteria cannot be honoured and are refused.
    if any(criterion.removeprefix("-") != "modified_at" for criterion in sorting or []):
        msg = "drawdown lists customer meters newest customer first, then by meter name"
        raise request_field(["query", "sorting"], msg)
    limit = min(limit, MAX_LIMIT)
    with ctx.database.read() as conn:
        meter_rows = _meters(conn, ctx.tenant, meter_id or [])
        if not meter_rows:
            return list_resource([], 0, limit)
        wanted = (_uuids(customer_id or [], "customer_id"), external_customer_id or [])
        pairs, total = _page_pairs(conn, ctx.tenant, wanted, meter_rows, page, limit)
        items = customer_meters(conn, ctx, pairs)
    return list_resource(items, total, limit)


def _find(conn: Connection, tenant: Tenant, id: str) -> tuple[Any, Any]:
    try:
        wanted = uuid.UUID(id)
    except ValueError:
        raise NotFoundError(f"No customer meter {id}") from None
    meter_rows = meter_store.listed(conn, tenant, [], status=None)
    by_customer = {customer_meter_id(wanted, m.id): m for m in meter_rows}
    # customer_meter_id is its own inverse given the meter: candidates are customer ids.
    found = customer_store.by_ids(conn, tenant, by_customer)
    if not found:
        raise NotFoundError(f"No customer meter {id}")
    customer = found[min(found)]
    return customer, by_customer[customer.id]


@router.get("/{id}", response_model=CustomerMeterOut, summary="Get Customer Meter")
def get_customer_meter(id: str, ctx: ReadCtx) -> CustomerMeterOut:
    with ctx.database.read() as conn:
        customer, meter = _find(conn, ctx.tenant, id)
        return customer_meters(conn, ctx, [(customer, meter)])[0]


def _state(conn: Connection, ctx: RequestContext, customer: CustomerRecord) -> CustomerStateOut:
    meters_now = _meters(conn, ctx.tenant, [])
    active = customer_meters(conn, ctx, [(customer, meter) for meter in meters_now])
    return CustomerStateOut(
        **customer_out(customer).model_dump(),
        active_meters=[
            CustomerStateMeter.model_validate(item.model_dump(exclude={"customer", "meter"}))
            for item in active
        ],
    )


@state_router.get("/external/{external_id}/state", response_model=CustomerStateOut)
def get_customer_state_external(external_id: str, ctx: ReadCtx) -> CustomerStateOut:
    """The customer with a balance per active meter (Polar's "customer state")."""
    with ctx.database.read() as conn:
        customer = customer_service.get_customer_by_external_id(conn, ctx.tenant, external_id)
        return _state(conn, ctx, customer)


@state_router.get("/{id}/state", response_model=CustomerStateOut)
def get_customer_state(id: str, ctx: ReadCtx) -> CustomerStateOut:
    with ctx.database.read() as conn:
        return _state(conn, ctx, customer_service.get_customer(conn, ctx.tenant, id))
