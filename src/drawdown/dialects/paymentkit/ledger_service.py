"""Credit transactions in Payment Kit's shape, over drawdown's ledger.

Payment Kit writes one CreditTransaction per (meter event x grant) deduction and nothing
else. drawdown's ledger records every movement; the rows Payment Kit would show are
``consumption`` (usage drawn from a grant) and ``settlement`` (a new grant paying usage
that had been recorded as debt), which is what the list and summary show by default. The
other entry types can be asked for with ``type``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from drawdown.credits import read
from drawdown.credits import service as credits
from drawdown.credits.read import EntryFilter
from drawdown.credits.records import EntryRecord
from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.credits_service import lookups, render_grant
from drawdown.dialects.paymentkit.schemas import PkCreditTransaction
from drawdown.dialects.paymentkit.wire import iso_ms
from drawdown.events import store as events_store
from drawdown.ids import render_id
from drawdown.meters import service as meters
from drawdown.meters import store as meters_store
from drawdown.money import format_units
from drawdown.records import MeterRecord
from drawdown.tenancy import Tenant

__all__ = [
    "ALL_TYPES",
    "USAGE_TYPES",
    "entry_filter",
    "get_entry",
    "quantity_of",
    "render_entries",
    "usage_totals",
]

USAGE_TYPES = ("consumption", "settlement")
ALL_TYPES = ("grant", "consumption", "debt", "settlement", "debt_settled", "expiration", "void")
_DESCRIPTIONS = {
    "settlement": "Pays usage that was recorded as debt",
    "debt": "Usage not covered by credits (owed until the next grant pays it)",
    "debt_settled": "Debt paid by a grant",
    "expiration": "Credit grant expired",
    "void": "Credit grant voided",
    "grant": "Credit grant booked",
}


def entry_filter(
    filters: dict[str, Any], types: Sequence[str], event_name: str | None
) -> EntryFilter:
    return EntryFilter(**filters, types=tuple(types), event_name=event_name)


def quantity_of(units: int, decimals: int, meter: MeterRecord | None) -> Decimal:
    """Meter units behind ``units`` credits: credits / rate (0 without a meter)."""
    if meter is None or Decimal(meter.rate) == 0:
        return Decimal(0)
    return Decimal(format_units(units, decimals)) / Decimal(meter.rate)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class _Context:
    """The events, meters and grants a page of entries points at, loaded once."""

    def __init__(self, conn: Connection, tenant: Tenant, rows: Sequence[Any], now: Any) -> None:
        self.events = events_store.by_ids(conn, tenant, {r.event_id for r in rows if r.event_id})
        names = {ev.name for ev in self.events.values()}
        self.meters = meters_store.by_event_names(conn, tenant, names)
        grant_ids = {r.grant_id for r in rows if r.grant_id}
        grant_rows = read.grants_by_id(conn, tenant, grant_ids, now)
        self.look = lookups(conn, tenant, {r.customer_id for r in rows})
        self.grants: dict[uuid.UUID, dict[str, Any]] = {}
        for row in grant_rows:
            grant = render_grant(row, self.look)
            self.grants[row.id] = grant.model_dump(exclude={"customer", "paymentMethod"})

    def meter_of(self, row: EntryRecord) -> MeterRecord | None:
        event = self.events.get(row.event_id) if row.event_id else None
        meter = None if event is None else self.meters.get(event.name)
        # An event is charged to its meter's currency; a renamed currency never happens.
        return meter if meter is not None and meter.currency_id == row.currency_id else None


def _render(row: EntryRecord, ctx: _Context) -> PkCreditTransaction:
    units = abs(row.amount)
    meter = ctx.meter_of(row)
    pk_meter = None if meter is None else render.plain_meter(meters.render(meter))
    created = iso_ms(row.created_at)
    return PkCreditTransaction(
        id=render_id("ledger_entry", row.id),
        type=row.type,
        quantity=_text(quantity_of(units, row.decimals, meter)),
        credit_amount=str(units),
        remaining_balance=str(row.balance_after),
        customer_id=render_id("customer", row.customer_id),
        credit_grant_id=None if row.grant_id is None else render_id("credit_grant", row.grant_id),
        meter_id=None if meter is None else render_id("meter", meter.id),
        source=None if row.event_id is None else render_id("event", row.event_id),
        meter_event_name="" if meter is None else meter.event_name,
        meter_unit="" if meter is None else meter.unit,
        description=_DESCRIPTIONS.get(row.type),
        metadata={},
        created_at=created,
        updated_at=created,
        customer=ctx.look.customer(row.customer_id),
        paymentCurrency=ctx.look.currency(row.currency_id)[1],
        creditGrant=None if row.grant_id is None else ctx.grants[row.grant_id],
        meter=pk_meter,
    )


def render_entries(
    conn: Connection, tenant: Tenant, rows: Sequence[Any], now: Any
) -> list[PkCreditTransaction]:
    ctx = _Context(conn, tenant, rows, now)
    return [_render(row, ctx) for row in rows]


def usage_totals(
    conn: Connection, tenant: Tenant, filters: EntryFilter | None
) -> tuple[Decimal, int, int]:
    """(total quantity in meter units, total credits in base units, row count) over the
    entries ``filters`` select (none when None): one query."""
    quantity, credits_units, count = Decimal(0), 0, 0
    for rate, decimals, units, entries in (
        [] if filters is None else read.usage_by_meter(conn, tenant, filters)
    ):
        if rate is not None and Decimal(rate) != 0:
            quantity += Decimal(format_units(units, decimals)) / Decimal(rate)
        credits_units += units
        count += entries
    return quantity, credits_units, count


def get_entry(conn: Connection, tenant: Tenant, ref: str) -> Any:
    return credits.get_entry(conn, tenant, ref)
