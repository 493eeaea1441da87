"""All SQL of the alerts domain: alert definitions and per-customer threshold state."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from drawdown.db.portable import among, copy_rows
from drawdown.db.scope import owned
from drawdown.db.tables import balance_alert_states, balance_alerts, customers
from drawdown.tenancy import Tenant

__all__ = [
    "AlarmRecord",
    "AlertRecord",
    "StateRecord",
    "alarms",
    "alert_list_query",
    "alerts_for",
    "count_alarms",
    "delete_alert",
    "get_alert",
    "insert_alert",
    "states_for",
    "to_alert",
    "update_alert",
    "write_states",
]

al = balance_alerts.c
st = balance_alert_states.c


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    mode: str
    customer_id: uuid.UUID | None
    currency_id: uuid.UUID
    name: str
    balance_type: str
    # [{"code", "value" (base units), "notify_on"}], strictly decreasing by value.
    thresholds: list[dict[str, Any]]
    rearm_margin: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StateRecord:
    alert_id: uuid.UUID
    customer_id: uuid.UUID
    code: str
    state: str
    since: datetime
    last_value: int


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """An alert in alarm for one customer: the thresholds in alarm, since the latest."""

    alert_id: uuid.UUID
    alert_name: str
    customer_id: uuid.UUID
    external_id: str | None
    codes: list[str]
    since: datetime


def to_alert(row: Any) -> AlertRecord:
    return AlertRecord(
        id=row.id,
        organization_id=row.organization_id,
        mode=row.mode,
        customer_id=row.customer_id,
        currency_id=row.currency_id,
        name=row.name,
        balance_type=row.balance_type,
        thresholds=list(row.thresholds),
        rearm_margin=row.rearm_margin,
        enabled=bool(row.enabled),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _scoped(tenant: Tenant) -> Any:
    return owned(balance_alerts, tenant)


def _among(conn: Connection, column: Any, values: Sequence[uuid.UUID]) -> Any:
    # One fixed statement text on PostgreSQL whatever the count (no re-parse per batch).
    return among(conn, column, list(values))


def alerts_for(
    conn: Connection,
    tenant: Tenant,
    customer_ids: Sequence[uuid.UUID],
    currency_ids: Sequence[uuid.UUID],
) -> list[AlertRecord]:
    """Enabled alerts that apply to these customers in these currencies: their own and the
    organization-wide defaults."""
    query = select(balance_alerts).where(
        _scoped(tenant),
        al.enabled.is_(True),
        _among(conn, al.currency_id, sorted(set(currency_ids))),
        or_(
            al.customer_id.is_(None),
            _among(conn, al.customer_id, sorted(set(customer_ids))),
        ),
    )
    return [to_alert(row) for row in conn.execute(query)]


def states_for(
    conn: Connection, alert_ids: Sequence[uuid.UUID], customer_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID, str], StateRecord]:
    query = select(balance_alert_states).where(
        _among(conn, st.alert_id, sorted(set(alert_ids))),
        _among(conn, st.customer_id, sorted(set(customer_ids))),
    )
    out = {}
    for row in conn.execute(query):
        out[(row.alert_id, row.customer_id, row.code)] = StateRecord(
            row.alert_id, row.customer_id, row.code, row.state, row.since, row.last_value
        )
    return out


def write_states(
    conn: Connection, new: Sequence[StateRecord], changed: Sequence[StateRecord]
) -> None:
    """Insert first-seen states and update changed ones (callers hold the account lock)."""
    # The account locks make each (alert, customer) row this transaction's alone: plain
    # multi-row insert (COPY on PostgreSQL), no conflict handling.
    copy_rows(
        conn,
        balance_alert_states,
        [
            {
                "alert_id": s.alert_id,
                "customer_id": s.customer_id,
                "code": s.code,
                "state": s.state,
                "since": s.since,
                "last_value": s.last_value,
            }
            for s in new
        ],
    )
    if changed:
        conn.execute(
            update(balance_alert_states)
            .where(
                st.alert_id == bindparam("b_alert"),
                st.customer_id == bindparam("b_customer"),
                st.code == bindparam("b_code"),
            )
            .values(
                state=bindparam("b_state"),
                since=bindparam("b_since"),
                last_value=bindparam("b_value"),
            ),
            [
                {
                    "b_alert": s.alert_id,
                    "b_customer": s.customer_id,
                    "b_code": s.code,
                    "b_state": s.state,
                    "b_since": s.since,
                    "b_value": s.last_value,
                }
                for s in changed
            ],
        )


def insert_alert(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(balance_alerts).values(**values))


def get_alert(conn: Connection, tenant: Tenant, alert_id: uuid.UUID) -> AlertRecord | None:
    row = conn.execute(
        select(balance_alerts).where(al.id == alert_id, _scoped(tenant))
    ).one_or_none()
    return None if row is None else to_alert(row)


def alert_list_query(
    tenant: Tenant, customer_id: uuid.UUID | None, defaults_only: bool = False
) -> Select[Any]:
    query = select(balance_alerts).where(_scoped(tenant))
    if defaults_only:
        return query.where(al.customer_id.is_(None))
    if customer_id is not None:
        query = query.where(or_(al.customer_id == customer_id, al.customer_id.is_(None)))
    return query


def update_alert(
    conn: Connection, tenant: Tenant, alert_id: uuid.UUID, values: dict[str, Any]
) -> None:
    conn.execute(update(balance_alerts).where(al.id == alert_id, _scoped(tenant)).values(**values))


def delete_alert(conn: Connection, tenant: Tenant, alert_id: uuid.UUID) -> None:
    conn.execute(delete(balance_alert_states).where(st.alert_id == alert_id))
    conn.execute(delete(balance_alerts).where(al.id == alert_id, _scoped(tenant)))


def clear_states(conn: Connection, alert_id: uuid.UUID) -> None:
    """Forget an alert's state (its thresholds changed); it is seeded again on next move."""
    conn.execute(delete(balance_alert_states).where(st.alert_id == alert_id))


def customer_states(
    conn: Connection, alert_id: uuid.UUID, customer_id: uuid.UUID
) -> list[StateRecord]:
    rows = conn.execute(
        select(balance_alert_states).where(st.alert_id == alert_id, st.customer_id == customer_id)
    )
    return [
        StateRecord(r.alert_id, r.customer_id, r.code, r.state, r.since, r.last_value) for r in rows
    ]


def _in_alarm(tenant: Tenant) -> Any:
    return (
        select(st.alert_id, st.customer_id)
        .join(balance_alerts, al.id == st.alert_id)
        .where(_scoped(tenant), al.enabled.is_(True), st.state == "in_alarm")
    )


def count_alarms(conn: Connection, tenant: Tenant) -> int:
    """(alert, customer) pairs with at least one threshold in alarm, of enabled alerts."""
    pairs = _in_alarm(tenant).distinct().subquery()
    return int(conn.execute(select(func.count()).select_from(pairs)).scalar_one())


def alarms(conn: Connection, tenant: Tenant, limit: int) -> list[AlarmRecord]:
    """The newest alarms (by when their latest threshold went into alarm), at most
    ``limit`` (alert, customer) pairs, each with the codes in alarm."""
    query = (
        _in_alarm(tenant)
        .add_columns(st.code, st.since, al.name, customers.c.external_id)
        .join(customers, customers.c.id == st.customer_id)
        .order_by(st.since.desc(), st.alert_id, st.customer_id)
    )
    grouped: dict[tuple[uuid.UUID, uuid.UUID], AlarmRecord] = {}
    for row in conn.execute(query):
        key = (row.alert_id, row.customer_id)
        if key not in grouped:
            if len(grouped) == limit:
                continue
            grouped[key] = AlarmRecord(
                row.alert_id, row.name, row.customer_id, row.external_id, [], row.since
            )
        grouped[key].codes.append(row.code)
    return list(grouped.values())
