"""Making a top-up inside a credits unit of work: one place for every way one is made (a
threshold rule in ``CreditWork.finish``, a schedule run, a manual call, a confirm).

``auto`` settlement adds the grant to the account's book at once (so debt is paid first and
``credit_grant.created`` is emitted as for any grant); ``external`` stores a pending top-up
and tells the operator's billing code with ``topup.requested``. The top-up's row and its
``topup.*`` event are written after the books are flushed (the row names the grant), in the
same transaction."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.credits.book import GrantState
from drawdown.credits.records import AccountKey
from drawdown.credits.work import CreditWork
from drawdown.db.engine import after_commit
from drawdown.ids import new_id, render_id
from drawdown.money import format_units
from drawdown.ops import metrics
from drawdown.tenancy import Tenant
from drawdown.topups import policy, store
from drawdown.topups.store import TopupRecord
from drawdown.webhooks.outbox import OutboxEvent, emit_many

__all__ = ["add_grant", "book", "emit", "event_data", "new_row"]


def new_row(
    tenant: Tenant,
    key: AccountKey,
    units: int,
    *,
    rule_id: uuid.UUID | None,
    reason: str,
    settlement: str,
    template: dict[str, Any],
    pending_ttl_s: int,
    now: datetime,
    period_start: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of a new top-up, pending (``book`` settles an auto one)."""
    customer_id, currency_id = key
    return {
        "id": new_id(),
        "organization_id": tenant.organization_id,
        "mode": tenant.mode,
        "rule_id": rule_id,
        "customer_id": customer_id,
        "currency_id": currency_id,
        "amount": units,
        "status": "pending",
        "reason": reason,
        "settlement": settlement,
        "grant_template": template,
        "grant_id": None,
        "period_start": period_start,
        "external_reference": None,
        "failure_reason": None,
        "metadata_": metadata or {},
        "created_at": now,
        "settled_at": None,
        "expires_at": now + timedelta(seconds=pending_ttl_s) if settlement == "external" else None,
        "updated_at": now,
    }


def add_grant(work: CreditWork, key: AccountKey, units: int, template: dict[str, Any]) -> uuid.UUID:
    """Add the grant a top-up makes (effective now) to the account's book."""
    expires_at = None
    if template.get("expires_after"):
        duration = policy.parse_duration(template["expires_after"])
        assert duration is not None, "templates are checked when stored"
        expires_at = policy.add_duration(work.now, duration)
    grant = GrantState(
        id=new_id(),
        amount=units,
        remaining=units,
        category=template.get("category", "paid"),
        priority=int(template.get("priority", 50)),
        effective_at=work.now,
        expires_at=expires_at,
        status="pending",
    )
    values = {"name": template.get("name") or "Top-up", "metadata_": template.get("metadata", {})}
    work.add_grant(key, grant, **values)
    return grant.id


def book(
    work: CreditWork,
    row: dict[str, Any],
    label: Any,
    *,
    stored: bool = False,
) -> None:
    """Settle ``row`` as its settlement says and write it (insert, or update when a
    schedule claim already ``stored`` it) with its event, after the flush."""
    key = (row["customer_id"], row["currency_id"])
    if row["settlement"] == "auto":
        grant_id = add_grant(work, key, row["amount"], row["grant_template"])
        row.update(status="succeeded", grant_id=grant_id, settled_at=work.now)
        kind = "succeeded"
    else:
        kind = "requested"
    tenant = Tenant(row["organization_id"], row["mode"])
    data = event_data(row, label.decimals, label.external_id)

    def write(conn: Connection) -> None:
        if stored:
            values = {k: row[k] for k in ("status", "grant_id", "settled_at", "updated_at")}
            store.settle_topup(conn, row["id"], values)
        else:
            store.insert_topups(conn, [row])
        emit(conn, tenant, kind, data, work.now)

    work.on_flush(write)


def emit(conn: Connection, tenant: Tenant, kind: str, data: dict[str, Any], now: datetime) -> None:
    """``topup.<kind>`` to the outbox, counted once the transaction commits."""
    emit_many(conn, tenant, [OutboxEvent(f"topup.{kind}", data, now)])
    if metrics.enabled():
        count: Callable[[], None] = metrics.TOPUPS.labels(kind).inc
        after_commit(conn, count)


def event_data(
    row: dict[str, Any] | TopupRecord, decimals: int, external_id: str | None
) -> dict[str, Any]:
    """The ``data`` of a ``topup.*`` event."""
    values: dict[str, Any] = row if isinstance(row, dict) else dataclasses.asdict(row)

    def get(name: str) -> Any:
        return values[name]

    grant_id, rule_id = get("grant_id"), get("rule_id")
    return {
        "topup_id": render_id("topup", get("id")),
        "rule_id": render_id("topup_rule", rule_id) if rule_id else None,
        "customer_id": render_id("customer", get("customer_id")),
        "external_customer_id": external_id,
        "currency_id": render_id("currency", get("currency_id")),
        "amount": format_units(get("amount"), decimals),
        "status": get("status"),
        "reason": get("reason"),
        "settlement": get("settlement"),
        "grant_id": render_id("credit_grant", grant_id) if grant_id else None,
        "external_reference": get("external_reference"),
        "failure_reason": get("failure_reason"),
        "created_at": _iso(get("created_at")),
        "expires_at": _iso(get("expires_at")),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
