"""All SQL of usage rollups: the per-batch upsert, reads of partial aggregates, the rebuild
of a range from stored events, backfill jobs, and the lock that orders writers against
backfills on PostgreSQL (SQLite has one writer at a time)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)

from drawdown.db import portable
from drawdown.db.scope import every_tenant, owned
from drawdown.db.tables import events, usage_rollup_backfills, usage_rollups
from drawdown.rollups.partial import Partial
from drawdown.tenancy import Tenant

__all__ = [
    "ALL_PERIOD",
    "Backfill",
    "Key",
    "add_backfill",
    "delete_backfill",
    "delete_rows",
    "derive_period",
    "event_rows",
    "first_event_us",
    "lock_for_backfill",
    "lock_for_writing",
    "next_backfill",
    "pending_meters",
    "read_partials",
    "set_backfill_next",
    "upsert",
]

r = usage_rollups.c
b = usage_rollup_backfills.c
e = events.c
# period_s of the one row per meter and subject that covers the whole history.
ALL_PERIOD = 0
_SPLIT = 1 << 26
# (meter_id, period_s, subject, bucket_start)
Key = tuple[uuid.UUID, int, str, int]


def _scoped(tenant: Tenant) -> list[ColumnElement[bool]]:
    return [owned(usage_rollups, tenant)]


# ---- locks (PostgreSQL; SQLite has one writer) ------------------------------------------------


def _lock_key(tenant: Tenant) -> str:
    return f"rollups:{tenant.organization_id}:{tenant.mode}"


def lock_for_writing(conn: Connection, tenant: Tenant) -> None:
    """Taken by every writer of events or rollups (ingest, claims) before it reads the
    meters: a backfill or a meter change waits for writers in flight, and writers wait for
    it, so no batch rolls up against a meter list that changed under it."""
    portable.advisory_xact_locks(conn, [_lock_key(tenant)], shared=True)


def lock_for_backfill(conn: Connection, tenant: Tenant) -> None:
    portable.advisory_xact_locks(conn, [_lock_key(tenant)])


# ---- writes -----------------------------------------------------------------------------------

_COLUMNS = (
    "organization_id",
    "mode",
    "meter_id",
    "period_s",
    "subject",
    "bucket_start",
    "n_events",
    "n_values",
    "int_total",
    "dec_total",
    "min_value",
    "max_value",
)
_SQLITE_UPSERT = (
    f"INSERT INTO usage_rollups ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (meter_id, period_s, bucket_start, subject) DO UPDATE SET"
    " n_events = n_events + excluded.n_events,"
    " n_values = n_values + excluded.n_values,"
    " int_total = int_total + excluded.int_total,"
    " dec_total = dd_dec_add(dec_total, excluded.dec_total),"
    " min_value = min(coalesce(min_value, excluded.min_value),"
    " coalesce(excluded.min_value, min_value)),"
    " max_value = max(coalesce(max_value, excluded.max_value),"
    " coalesce(excluded.max_value, max_value))"
)
_PG_TYPES = (
    "uuid",
    "varchar",
    "uuid",
    "int",
    "varchar",
    "bigint",
    "bigint",
    "bigint",
    "bigint",
    "numeric",
    "numeric",
    "numeric",
)
_PG_UPSERT = (
    f"INSERT INTO usage_rollups AS u ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%b::{kind}[]" for kind in _PG_TYPES)
    + ") ON CONFLICT (meter_id, period_s, bucket_start, subject) DO UPDATE SET"
    " n_events = u.n_events + excluded.n_events,"
    " n_values = u.n_values + excluded.n_values,"
    " int_total = u.int_total + excluded.int_total,"
    " dec_total = CASE WHEN u.dec_total IS NULL THEN excluded.dec_total"
    " WHEN excluded.dec_total IS NULL THEN u.dec_total"
    " ELSE u.dec_total + excluded.dec_total END,"
    " min_value = LEAST(u.min_value, excluded.min_value),"
    " max_value = GREATEST(u.max_value, excluded.max_value)"
)
_INT64 = 1 << 63


def _sqlite_number(value: Any) -> Any:
    # SQLite stores numbers natively (as json_extract reads them): int64 or double.
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int) and -_INT64 <= value < _INT64:
        return value
    return float(value)


def upsert(conn: Connection, tenant: Tenant, partials: dict[Key, Partial]) -> None:
    """Add ``partials`` to their rows, in key order (concurrent batches lock rows in the
    same order and cannot deadlock)."""
    if not partials:
        return
    keys = sorted(partials)
    org, mode = tenant.organization_id, tenant.mode
    if portable.is_sqlite(conn):
        rows = []
        for key in keys:
            p = partials[key]
            rows.append(
                (
                    org.hex,
                    mode,
                    key[0].hex,
                    key[1],
                    key[2],
                    key[3],
                    p.n_events,
                    p.n_values,
                    p.int_total,
                    None if p.dec_total is None else str(p.dec_total),
                    _sqlite_number(p.min_value),
                    _sqlite_number(p.max_value),
                )
            )
        conn.exec_driver_sql(_SQLITE_UPSERT, rows)
        return
    parts = [partials[key] for key in keys]
    arrays = (
        [org] * len(keys),
        [mode] * len(keys),
        [key[0] for key in keys],
        [key[1] for key in keys],
        [key[2] for key in keys],
        [key[3] for key in keys],
        [p.n_events for p in parts],
        [p.n_values for p in parts],
        [p.int_total for p in parts],
        [p.dec_total for p in parts],
        [_pg_number(p.min_value) for p in parts],
        [_pg_number(p.max_value) for p in parts],
    )
    conn.exec_driver_sql(_PG_UPSERT, arrays)


def _pg_number(value: Any) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def delete_rows(
    conn: Connection,
    tenant: Tenant,
    meter_ids: Sequence[uuid.UUID],
    periods: Sequence[int],
    *,
    subject: str | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
) -> None:
    conds = [*_scoped(tenant), r.meter_id.in_(list(meter_ids)), r.period_s.in_(list(periods))]
    if subject is not None:
        conds.append(r.subject == subject)
    if start_us is not None:
        conds.append(r.bucket_start >= start_us)
    if end_us is not None:
        conds.append(r.bucket_start < end_us)
    conn.execute(delete(usage_rollups).where(*conds))


def derive_period(
    conn: Connection,
    tenant: Tenant,
    meter_id: uuid.UUID,
    source_period: int,
    target_period: int,
    start_us: int | None = None,
    end_us: int | None = None,
) -> None:
    """Rebuild ``target_period`` rows in [start_us, end_us) from the finer rows of
    ``source_period``; target ALL_PERIOD: the whole-history rows, from every source row."""
    delete_rows(conn, tenant, [meter_id], [target_period], start_us=start_us, end_us=end_us)
    conds = [*_scoped(tenant), r.meter_id == meter_id, r.period_s == source_period]
    if start_us is not None and end_us is not None:
        conds += [r.bucket_start >= start_us, r.bucket_start < end_us]
    if target_period == ALL_PERIOD:
        bucket: Any = literal(0, BigInteger)
        groups: list[Any] = []
    else:
        bucket = type_coerce(
            r.bucket_start - r.bucket_start % (target_period * 1_000_000), BigInteger
        )
        groups = [bucket]
    is_sqlite = portable.is_sqlite(conn)
    source = (
        select(
            r.organization_id,
            r.mode,
            r.meter_id,
            literal(target_period),
            r.subject,
            bucket,
            func.sum(r.n_events),
            func.sum(r.n_values),
            func.sum(r.int_total),
            func.dd_dec_sum(r.dec_total) if is_sqlite else func.sum(r.dec_total),
            func.min(r.min_value),
            func.max(r.max_value),
        )
        .where(*conds)
        .group_by(r.organization_id, r.mode, r.meter_id, r.subject, *groups)
    )
    conn.execute(insert(usage_rollups).from_select(list(_COLUMNS), source))


# ---- reads ------------------------------------------------------------------------------------


def read_partials(
    conn: Connection,
    tenant: Tenant,
    meter_id: uuid.UUID,
    period_s: int,
    ranges: Iterable[tuple[int, int]],
    key_of: Any,
    *,
    subject: str | None,
    by_subject: bool,
) -> list[tuple[int, str | None, Partial]]:
    """Partials per (bucket key, subject or None) of rows in ``ranges`` of one period;
    ``key_of(column)`` is the SQL giving a bucket start's output key."""
    is_sqlite = portable.is_sqlite(conn)
    key = key_of(r.bucket_start).label("k")
    groups = [r.subject] if by_subject else []
    if is_sqlite:
        total_cols = [
            func.sum(r.int_total // _SPLIT),
            func.sum(r.int_total % _SPLIT),
            func.dd_dec_sum(r.dec_total).filter(r.dec_total.is_not(None)),
        ]
    else:
        total_cols = [func.sum(r.int_total), func.sum(r.dec_total)]
    conds = [*_scoped(tenant), r.meter_id == meter_id, r.period_s == period_s]
    conds.append(or_(*(and_(r.bucket_start >= lo, r.bucket_start < hi) for lo, hi in ranges)))
    if subject is not None:
        conds.append(r.subject == subject)
    query = (
        select(
            key,
            *groups,
            func.sum(r.n_events),
            func.sum(r.n_values),
            *total_cols,
            type_coerce(func.min(r.min_value), _RAW),
            type_coerce(func.max(r.max_value), _RAW),
        )
        .where(*conds)
        .group_by(key, *groups)
    )
    out = []
    for row in conn.execute(query):
        values = list(row)
        k = int(values.pop(0))
        group = values.pop(0) if by_subject else None
        if is_sqlite:
            n_events, n_values, high, low, dec, low_v, high_v = values
            int_total = (high or 0) * _SPLIT + (low or 0)
        else:
            n_events, n_values, int_total, dec, low_v, high_v = values
        p = Partial(
            int(n_events or 0),
            int(n_values or 0),
            int(int_total or 0),
            None if dec is None else Decimal(dec),
            low_v,
            high_v,
        )
        out.append((k, group, p))
    return out


class _RawNumber(BigInteger):
    """Results as the driver returns them (SQLite int/float, PostgreSQL Decimal)."""

    def result_processor(self, dialect: Any, coltype: Any) -> None:
        return None


_RAW = _RawNumber()


# ---- backfills ---------------------------------------------------------------------------------


class Backfill:
    __slots__ = ("first_us", "meter_id", "next_us", "tenant", "until_us")

    def __init__(self, row: Any) -> None:
        self.meter_id: uuid.UUID = row.meter_id
        self.tenant = Tenant(row.organization_id, row.mode)
        self.first_us: int = row.first_us
        self.next_us: int = row.next_us
        self.until_us: int = row.until_us


def add_backfill(
    conn: Connection,
    tenant: Tenant,
    meter_id: uuid.UUID,
    first_us: int,
    until_us: int,
    now: datetime,
) -> None:
    conn.execute(delete(usage_rollup_backfills).where(b.meter_id == meter_id))
    conn.execute(
        insert(usage_rollup_backfills).values(
            meter_id=meter_id,
            organization_id=tenant.organization_id,
            mode=tenant.mode,
            first_us=first_us,
            next_us=first_us,
            until_us=until_us,
            created_at=now,
        )
    )


def next_backfill(conn: Connection, meter_id: uuid.UUID | None = None) -> Backfill | None:
    # The background rebuild serves every tenant (system work, not a request).
    query = every_tenant(select(usage_rollup_backfills))
    if meter_id is not None:
        query = query.where(b.meter_id == meter_id)
    row = conn.execute(query.order_by(b.created_at, b.meter_id).limit(1)).one_or_none()
    return None if row is None else Backfill(row)


def pending_meters(conn: Connection, tenant: Tenant, meter_ids: Sequence[uuid.UUID]) -> set[Any]:
    query = select(b.meter_id).where(
        owned(usage_rollup_backfills, tenant), b.meter_id.in_(list(meter_ids))
    )
    return set(conn.execute(query).scalars())


def set_backfill_next(conn: Connection, meter_id: uuid.UUID, next_us: int) -> None:
    conn.execute(
        update(usage_rollup_backfills).where(b.meter_id == meter_id).values(next_us=next_us)
    )


def delete_backfill(conn: Connection, meter_id: uuid.UUID) -> None:
    conn.execute(delete(usage_rollup_backfills).where(b.meter_id == meter_id))


# ---- stored events, for backfills --------------------------------------------------------------


def first_event_us(conn: Connection, tenant: Tenant, event_name: str) -> tuple[int, int] | None:
    """The earliest and latest timestamps of stored events of ``event_name``."""
    ts = type_coerce(e.timestamp, BigInteger)
    query = select(func.min(ts), func.max(ts)).where(owned(events, tenant), e.name == event_name)
    low, high = conn.execute(query).one()
    return None if low is None else (int(low), int(high))


def event_rows(
    conn: Connection, tenant: Tenant, event_name: str, start_us: int, max_events: int
) -> tuple[list[Any], int | None]:
    """Stored events of ``event_name`` from ``start_us`` on, in timestamp order: at most
    ``max_events``, ending at a 15-minute boundary; and the next boundary (None at the end)."""
    ts = type_coerce(e.timestamp, BigInteger)
    scope = [owned(events, tenant), e.name == event_name]
    boundary = conn.execute(
        select(ts).where(*scope, ts >= start_us).order_by(ts).offset(max_events).limit(1)
    ).scalar()
    span_us = 900 * 1_000_000
    end_us = None
    if boundary is not None:
        end_us = max(
            int(boundary) - int(boundary) % span_us, start_us - start_us % span_us + span_us
        )
    conds = [*scope, ts >= start_us]
    if end_us is not None:
        conds.append(ts < end_us)
    query = select(e.customer_id, e.external_customer_id, ts.label("ts"), e.properties).where(
        *conds
    )
    return list(conn.execute(query)), end_us
