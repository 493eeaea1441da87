"""Credit grants in Payment Kit's terms, over :mod:`drawdown.credits`: create with human
amounts and unix-second times, read with base-unit strings and Payment Kit's status names,
the per-currency summary and the availability check."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from drawdown.credits import read
from drawdown.credits import service as credits
from drawdown.credits.read import GrantFilter
from drawdown.credits.records import GrantRecord
from drawdown.credits.schemas import GrantCreate
from drawdown.currencies import service as currencies
from drawdown.customers import service as customers
from drawdown.customers import store as customers_store
from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.customers import require_customer
from drawdown.dialects.paymentkit.schemas import CreditGrantCreate, PkCreditGrant
from drawdown.dialects.paymentkit.service import native
from drawdown.dialects.paymentkit.wire import from_unix, iso_ms, unix_s
from drawdown.errors import request_field
from drawdown.ids import render_id
from drawdown.meters import service as meters
from drawdown.meters import store as meters_store
from drawdown.money import parse_amount
from drawdown.records import CustomerRecord
from drawdown.tenancy import Tenant

__all__ = [
    "STATUS_FROM_PK",
    "STATUS_TO_PK",
    "available_units",
    "create_grant",
    "debts",
    "lookups",
    "render_grant",
    "render_grants",
    "summary",
]

STATUS_TO_PK = {"active": "granted"}
STATUS_FROM_PK = {"granted": "active"}


def _check_applicability(config: dict[str, Any] | None) -> None:
    """Every drawdown grant applies to all metered usage in its currency, which is what
    ``{scope: {price_type: 'metered'}}`` says; drawdown has no prices to narrow it to."""
    if not config:
        return
    scope = config.get("scope") or {}
    if set(config) - {"scope"} or set(scope) - {"price_type", "prices"}:
        raise request_field(["body", "applicability_config"], "only scope.price_type is supported")
    if scope.get("prices"):
        raise request_field(
            ["body", "applicability_config", "scope", "prices"],
            "drawdown has no prices: a grant applies to all usage in its currency",
        )
    if scope.get("price_type") not in (None, "metered"):
        raise request_field(
            ["body", "applicability_config", "scope", "price_type"], "must be 'metered'"
        )


def create_grant(conn: Connection, tenant: Tenant, body: CreditGrantCreate, now: datetime) -> Any:
    _check_applicability(body.applicability_config)
    customer = require_customer(
        conn, tenant, body.customer_id, ["body", "customer_id"], create_at=now
    )
    request = native(
        GrantCreate,
        customer_id=render_id("customer", customer.id),
        currency_id=body.currency_id,
        amount=body.amount if isinstance(body.amount, str) else repr(body.amount),
        category=body.category,
        priority=50 if body.priority is None else body.priority,
        effective_at=None if body.effective_at is None else from_unix(body.effective_at),
        expires_at=None if body.expires_at is None else from_unix(body.expires_at),
        name=body.name or "",
        metadata=body.metadata or {},
    )
    return credits.create_grant(conn, tenant, request, now)


class _Lookups:
    """Customers and currencies rendered once per request."""

    def __init__(self, conn: Connection, tenant: Tenant, customer_ids: Iterable[uuid.UUID]) -> None:
        self.conn, self.tenant = conn, tenant
        # Deleted customers too: their history keeps pointing at them.
        found = customers_store.by_ids(conn, tenant, customer_ids, deleted=True)
        self.customers = {cid: render.customer(customers.render(row)) for cid, row in found.items()}
        self.currencies: dict[uuid.UUID, Any] = {}

    def customer(self, customer_id: uuid.UUID) -> Any:
        return self.customers[customer_id]

    def currency(self, currency_id: uuid.UUID) -> Any:
        if currency_id not in self.currencies:
            ref = render_id("currency", currency_id)
            cur = currencies.render(currencies.get_currency(self.conn, self.tenant, ref))
            self.currencies[currency_id] = (cur, render.payment_currency(cur))
        return self.currencies[currency_id]


def lookups(conn: Connection, tenant: Tenant, customer_ids: Iterable[uuid.UUID] = ()) -> _Lookups:
    """What a page renders beside its items: its customers (loaded at once, one query)
    and currencies (once each)."""
    return _Lookups(conn, tenant, customer_ids)


def render_grant(row: GrantRecord, look: _Lookups) -> PkCreditGrant:
    """A grant already projected to the instant asked about (drawdown.credits.read)."""
    out = credits.render_grant(row)
    decimals = row.decimals
    return PkCreditGrant(
        id=out.id,
        amount=str(parse_amount(out.amount, decimals)),
        remaining_amount=str(parse_amount(out.remaining, decimals)),
        currency_id=out.currency_id,
        customer_id=out.customer_id,
        name=out.name or None,
        category=out.category,
        priority=out.priority,
        status=STATUS_TO_PK.get(out.status, out.status),
        effective_at=unix_s(out.effective_at),
        expires_at=unix_s(out.expires_at),
        voided_at=unix_s(row.closed_at) if out.status == "voided" else None,
        applicability_config=None,
        livemode=out.livemode,
        metadata=dict(out.metadata),
        created_at=iso_ms(out.created_at),
        updated_at=iso_ms(out.updated_at),
        customer=look.customer(row.customer_id),
        paymentCurrency=look.currency(row.currency_id)[1],
    )


def render_grants(
    conn: Connection, tenant: Tenant, rows: Sequence[GrantRecord], now: datetime
) -> list[PkCreditGrant]:
    look = lookups(conn, tenant, {row.customer_id for row in rows})
    return [render_grant(row, look) for row in read.project(conn, tenant, rows, now)]


def summary(
    conn: Connection, tenant: Tenant, customer: CustomerRecord, now: datetime
) -> dict[str, Any]:
    """Payment Kit's effective credit summary: per currency, the grants in effect now
    (granted, not expired), their total and remaining amounts in base units, and count."""
    look = lookups(conn, tenant)
    out: dict[str, Any] = {}
    for totals in read.grant_totals(conn, tenant, GrantFilter(customer.id), now, "active"):
        cur, pk_currency = look.currency(totals.currency_id)
        entry = out[cur.id] = {
            "paymentCurrency": pk_currency.model_dump(),
            "totalAmount": totals.amount,
            "remainingAmount": totals.remaining,
            "grantCount": totals.count,
        }
        mtr = meters_store.oldest_for_currency(conn, tenant, totals.currency_id)
        if mtr is not None:
            entry["meter"] = render.plain_meter(meters.render(mtr))
    for entry in out.values():
        entry["totalAmount"] = str(entry["totalAmount"])
        entry["remainingAmount"] = str(entry["remainingAmount"])
    return out


def available_units(
    conn: Connection, tenant: Tenant, customer: CustomerRecord, currency_id: str, now: datetime
) -> tuple[int, int]:
    """(available, debt) of one customer in one currency, in base units, as of now."""
    cur = currencies.get_currency(conn, tenant, currency_id)
    for balance in credits.account_balances(conn, tenant, customer, now):
        if balance.currency_id == cur.id:
            return balance.available, balance.debt
    return 0, 0


def debts(
    conn: Connection,
    tenant: Tenant,
    customer: CustomerRecord | None,
    currency_id: str | None,
    now: datetime,
) -> dict[str, str]:
    """Payment Kit's pending amounts: usage not covered by credits (drawdown's debt), in
    base units per currency, for one customer or for all."""
    if currency_id is not None:
        currencies.get_currency(conn, tenant, currency_id)  # 404 for an unknown currency
    if customer is not None:
        owners = [customer.id]
    else:
        cur = None if currency_id is None else currencies.get_currency(conn, tenant, currency_id)
        owners = read.customers_in_debt(conn, tenant, None if cur is None else cur.id)
    totals: dict[str, int] = {}
    for owner_balances in read.balances(conn, tenant, owners, now).values():
        for balance in owner_balances:
            key = render_id("currency", balance.currency_id)
            if (currency_id is not None and key != currency_id) or not balance.debt:
                continue
            totals[key] = totals.get(key, 0) + balance.debt
    return {key: str(value) for key, value in totals.items()}
