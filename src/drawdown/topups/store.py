"""All SQL of top-ups: rules and the top-ups they (or an operator) made."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, insert, or_, select

from drawdown.db.paging import fetch_page
from drawdown.db.portable import among, for_update, insert_ignoring_duplicates
from drawdown.db.scope import every_tenant, owned, select_owned, update_owned
from drawdown.db.tables import currencies, topup_rules, topups
from drawdown.paging import PageRequest, Slice
from drawdown.tenancy import Mode, Tenant

__all__ = [
    "RuleRecord",
    "TopupRecord",
    "claim_period",
    "count_pending",
    "delete_rule",
    "due_schedule_rules",
    "expired_pending",
    "get_rule",
    "get_topup",
    "history",
    "insert_rule",
    "insert_topups",
    "rules_page",
    "set_next_run",
    "settle_topup",
    "threshold_rules",
    "topups_page",
    "update_rule",
]

r = topup_rules.c
t = topups.c


@dataclass(frozen=True, slots=True)
class RuleRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: Mode
    customer_id: uuid.UUID | None
    currency_id: uuid.UUID
    name: str
    enabled: bool
    trigger: str
    threshold: int | None
    interval: str | None
    anchor_at: datetime | None
    next_run_at: datetime | None
    method: str
    amount: int | None
    target_balance: int | None
    settlement: str
    grant_template: dict[str, Any]
    max_per_day: int | None
    max_amount_per_day: int | None
    cooldown_s: int
    decline_backoff_s: int
    pending_ttl_s: int | None
    created_at: datetime
    updated_at: datetime
    decimals: int

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.organization_id, self.mode)

    @classmethod
    def of(cls, row: Any) -> RuleRecord:
        m = row._mapping
        return cls(**{name: m[name] for name in _FIELDS[cls]})


@dataclass(frozen=True, slots=True)
class TopupRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: Mode
    rule_id: uuid.UUID | None
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    amount: int
    status: str
    reason: str
    settlement: str
    grant_template: dict[str, Any]
    grant_id: uuid.UUID | None
    period_start: datetime | None
    external_reference: str | None
    failure_reason: str | None
    metadata_: dict[str, Any]
    created_at: datetime
    settled_at: datetime | None
    expires_at: datetime | None
    updated_at: datetime
    decimals: int

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.organization_id, self.mode)

    @classmethod
    def of(cls, row: Any) -> TopupRecord:
        m = row._mapping
        return cls(**{name: m[name] for name in _FIELDS[cls]})

    def status_at(self, now: datetime) -> str:
        """The status as read now: a pending top-up past expires_at reads as expired."""
        if self.status == "pending" and self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return self.status


_FIELDS: dict[type, tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclasses.fields(kind)) for kind in (RuleRecord, TopupRecord)
}


def _rules(tenant: Tenant) -> Select[Any]:
    return select_owned(tenant, topup_rules, topup_rules, currencies.c.decimals).join(
        currencies, currencies.c.id == r.currency_id
    )


def _topups(tenant: Tenant) -> Select[Any]:
    return select_owned(tenant, topups, topups, currencies.c.decimals).join(
        currencies, currencies.c.id == t.currency_id
    )


# -- rules ---------------------------------------------------------------------------------


def insert_rule(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(topup_rules).values(values))


def get_rule(conn: Connection, tenant: Tenant, rule_id: uuid.UUID) -> RuleRecord | None:
    row = conn.execute(_rules(tenant).where(r.id == rule_id)).one_or_none()
    return None if row is None else RuleRecord.of(row)


def update_rule(
    conn: Connection, tenant: Tenant, rule_id: uuid.UUID, values: dict[str, Any]
) -> None:
    conn.execute(update_owned(tenant, topup_rules).where(r.id == rule_id).values(values))


def delete_rule(conn: Connection, tenant: Tenant, rule_id: uuid.UUID) -> None:
    conn.execute(delete(topup_rules).where(owned(topup_rules, tenant), r.id == rule_id))


def rules_page(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    defaults_only: bool,
    page: PageRequest,
) -> Slice[RuleRecord]:
    """A customer's rules and the organization's defaults; or (no customer) every rule, or
    only the defaults."""
    query = _rules(tenant)
    if customer_id is not None:
        query = query.where(or_(r.customer_id == customer_id, r.customer_id.is_(None)))
    elif defaults_only:
        query = query.where(r.customer_id.is_(None))
    return fetch_page(conn, query, r.id, page, RuleRecord.of)


def threshold_rules(
    conn: Connection,
    tenant: Tenant,
    customer_ids: Sequence[uuid.UUID],
    currency_ids: Sequence[uuid.UUID],
) -> list[RuleRecord]:
    """Enabled threshold rules for these customers in these currencies, and the defaults,
    oldest first (one query; none exist in the common case)."""
    query = _rules(tenant).where(
        r.trigger == "threshold",
        r.enabled.is_(True),
        among(conn, r.currency_id, sorted(set(currency_ids))),
        or_(r.customer_id.is_(None), among(conn, r.customer_id, sorted(set(customer_ids)))),
    )
    return [RuleRecord.of(row) for row in conn.execute(query.order_by(r.id))]


def due_schedule_rules(conn: Connection, now: datetime, limit: int) -> list[RuleRecord]:
    """Enabled schedule rules of any tenant whose next period has started, locked (rows
    another worker holds are skipped on PostgreSQL). The decimals come from a subquery so
    that only the rule rows are locked."""
    decimals = (
        select(currencies.c.decimals)
        .where(currencies.c.id == r.currency_id)
        .scalar_subquery()
        .label("decimals")
    )
    query = every_tenant(
        select(topup_rules, decimals)
        .where(r.trigger == "schedule", r.enabled.is_(True), r.next_run_at <= now)
        .order_by(r.next_run_at, r.id)
        .limit(limit)
    )
    rows = conn.execute(for_update(conn, query, skip_locked=True))
    return [RuleRecord.of(row) for row in rows]


def set_next_run(
    conn: Connection, rule_id: uuid.UUID, next_run_at: datetime, now: datetime
) -> None:
    conn.execute(
        topup_rules.update().where(r.id == rule_id).values(next_run_at=next_run_at, updated_at=now)
    )


# -- top-ups -------------------------------------------------------------------------------


def insert_topups(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(topups), list(rows))


def claim_period(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert a schedule run's top-up unless this (rule, customer, period) has one: True
    when this call inserted it. A concurrent claimer waits for the first one's commit."""
    return bool(
        insert_ignoring_duplicates(
            conn, topups, [row], ["rule_id", "customer_id", "period_start"], returning="id"
        )
    )


def get_topup(
    conn: Connection, tenant: Tenant, topup_id: uuid.UUID, *, lock: bool = False
) -> TopupRecord | None:
    query = _topups(tenant).where(t.id == topup_id)
    if lock:
        query = for_update(conn, query)
    row = conn.execute(query).one_or_none()
    return None if row is None else TopupRecord.of(row)


def settle_topup(
    conn: Connection, topup_id: uuid.UUID, values: dict[str, Any], *, from_status: str = "pending"
) -> bool:
    """Move a top-up out of ``from_status``; False if it was no longer in it."""
    result = conn.execute(
        topups.update().where(t.id == topup_id, t.status == from_status).values(values)
    )
    return result.rowcount == 1


def history(
    conn: Connection,
    tenant: Tenant,
    customer_ids: Sequence[uuid.UUID],
    currency_ids: Sequence[uuid.UUID],
    since: datetime,
) -> list[TopupRecord]:
    """The top-ups that bear on threshold rules of these accounts: every pending one, and
    those created or settled since ``since``."""
    query = _topups(tenant).where(
        among(conn, t.customer_id, sorted(set(customer_ids))),
        among(conn, t.currency_id, sorted(set(currency_ids))),
        or_(t.status == "pending", t.created_at >= since, t.settled_at >= since),
    )
    return [TopupRecord.of(row) for row in conn.execute(query)]


def expired_pending(conn: Connection, now: datetime, limit: int) -> list[TopupRecord]:
    """Pending top-ups of any tenant past expires_at, oldest first."""
    query = every_tenant(
        select(topups, currencies.c.decimals)
        .join(currencies, currencies.c.id == t.currency_id)
        .where(t.status == "pending", t.expires_at <= now)
        .order_by(t.expires_at, t.id)
        .limit(limit)
    )
    return [TopupRecord.of(row) for row in conn.execute(query)]


def topups_page(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    status: str | None,
    now: datetime,
    page: PageRequest,
) -> Slice[TopupRecord]:
    """Newest first; ``status`` as read at ``now``."""
    query = _topups(tenant)
    if customer_id is not None:
        query = query.where(t.customer_id == customer_id)
    if status == "pending":
        query = query.where(t.status == "pending", or_(t.expires_at.is_(None), t.expires_at > now))
    elif status == "expired":
        query = query.where(
            or_(t.status == "expired", and_(t.status == "pending", t.expires_at <= now))
        )
    elif status is not None:
        query = query.where(t.status == status)
    return fetch_page(conn, query, t.id, page, TopupRecord.of)


def count_pending(conn: Connection, tenant: Tenant, now: datetime) -> int:
    query = select_owned(tenant, topups, func.count()).where(
        t.status == "pending", or_(t.expires_at.is_(None), t.expires_at > now)
    )
    return int(conn.execute(query).scalar_one())
