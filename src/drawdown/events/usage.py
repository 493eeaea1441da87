"""Usage of a meter over a time range: buckets per window (and group) and a total.

What each aggregation means, in a bucket and in the total (which is computed over the whole
range, never by combining buckets):
- count: events the meter matches.
- sum: the sum of the property over matched events where it is a number; the total equals
  the sum of the buckets.
- avg: that sum divided by the number of such events (so the total is not the mean of the
  bucket means).
- min / max: the smallest / largest such value.
- unique: distinct values of the property (strings, numbers, booleans; 1 and 1.0 are the same
  number, "1" and 1 are not); the total counts values distinct over the whole range, so it
  is usually less than the sum of the buckets.
- latest: the numeric property of the matched event with the latest timestamp (ties by id).
count, sum and unique of an empty bucket are 0; the others are null."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BigInteger,
    Connection,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from drawdown.db import portable
from drawdown.db.portable import JsonPath
from drawdown.db.types import to_micros
from drawdown.errors import field
from drawdown.events import store
from drawdown.events.schemas import GroupedUsageBucket, UsageBucket, UsageOut
from drawdown.events.windows import (
    MAX_BUCKETS,
    Bucket,
    TooManyBuckets,
    Window,
    buckets,
    key_sql,
)
from drawdown.ids import parse_id, render_id
from drawdown.meters.filters import compile_sql, split_path
from drawdown.money import to_decimal
from drawdown.rollups import service as rollups
from drawdown.rollups.partial import ROLLED_FUNCS, Partial
from drawdown.rollups.plan import Plan, split
from drawdown.tenancy import Tenant

__all__ = [
    "Query",
    "Row",
    "aggregate",
    "format_value",
    "report",
    "totals_by_customer",
    "usage_query",
]

c = store.c
# Exact on SQLite: integers are summed in two 26-bit halves (no int64 overflow for billions
# of events of up to 2^53), floats by Python's Decimal through this aggregate.
_SPLIT = 1 << 26
_SUM_PRECISION = 60


class _DecimalSum:
    def __init__(self) -> None:
        self.total = Decimal(0)

    def step(self, value: Any) -> None:
        if value is not None:
            with localcontext(prec=_SUM_PRECISION):
                self.total += to_decimal(value)

    def finalize(self) -> str:
        return str(self.total)


@dataclass(frozen=True, slots=True)
class Query:
    tenant: Tenant
    meter: Any
    time_from: datetime
    time_to: datetime
    window: Window
    tz: Any
    buckets: list[Bucket]
    customer_id: uuid.UUID | None
    group_by: str | None
    # Restricts to these customers (readers that show many customers at once).
    customer_ids: tuple[uuid.UUID, ...] | None = None


@dataclass(frozen=True, slots=True)
class Row:
    key: int
    group: Any
    value: Decimal | None


def format_value(value: Decimal | None) -> str | None:
    if value is None:
        return None
    normalized = value.normalize()
    return format(normalized if normalized != 0 else Decimal(0), "f")


def _conditions(q: Query, is_sqlite: bool) -> list[Any]:
    ts = type_coerce(c.timestamp, BigInteger)
    conds = [
        store.scoped(q.tenant),
        c.name == q.meter.event_name,
        ts >= to_micros(q.time_from),
        ts < to_micros(q.time_to),
        compile_sql(q.meter.filter, c, is_sqlite),
    ]
    if q.customer_id is not None:
        conds.append(c.customer_id == q.customer_id)
    if q.customer_ids is not None:
        conds.append(c.customer_id.in_(list(q.customer_ids)))
    return conds


def _group_sql(q: Query, is_sqlite: bool) -> list[Any]:
    if q.group_by is None:
        return []
    if q.group_by == "customer":
        return [c.customer_id, case((c.customer_id.is_(None), c.external_customer_id))]
    path = JsonPath(c.properties, split_path(q.group_by), is_sqlite)
    # Groups are scalar values compared as JSON text ("a", 3, true); others group as null.
    scalar = (
        ("integer", "real", "text", "true", "false")
        if is_sqlite
        else ("string", "number", "boolean")
    )
    text = type_coerce(path.raw(), Text) if is_sqlite else cast(path.raw(), Text)
    return [case((path.type_of().in_(scalar), text))]


def _value_sql(q: Query, is_sqlite: bool) -> list[Any]:
    meter = q.meter
    if meter.aggregation_func == "count":
        return [func.count()]
    path = JsonPath(c.properties, split_path(meter.aggregation_property), is_sqlite)
    number = case((path.is_number(), path.number()))
    match meter.aggregation_func:
        case "sum" | "avg":
            return [*_sum_sql(path, is_sqlite), func.count(number)]
        case "max":
            return [func.max(number)]
        case "min":
            return [func.min(number)]
        case "unique":
            return [func.count(_unique_key(path, is_sqlite).distinct())]
    raise AssertionError(meter.aggregation_func)


def _sum_sql(path: JsonPath, is_sqlite: bool) -> list[Any]:
    if not is_sqlite:
        return [func.sum(case((path.is_number(), path.number())))]
    integer = type_coerce(case((path.type_of() == "integer", path.number())), BigInteger)
    real = case((path.type_of() == "real", path.number()))
    return [
        func.sum(integer // literal(_SPLIT)),
        func.sum(integer % literal(_SPLIT)),
        func.dd_decimal_sum(real),
    ]


def _unique_key(path: JsonPath, is_sqlite: bool) -> Any:
    if not is_sqlite:
        return case((path.type_of().in_(("string", "number", "boolean")), path.raw()))
    kind, value = path.type_of(), path.text()
    as_int = cast(value, BigInteger)
    return case(
        (kind == "text", literal("s:") + value),
        (kind == "integer", literal("n:") + cast(value, Text())),
        (
            kind == "real",
            literal("n:")
            + case((value == as_int, cast(as_int, Text())), else_=cast(value, Text())),
        ),
        (kind.in_(("true", "false")), literal("b:") + kind),
    )


def _combine(func_name: str, parts: Sequence[Any], is_sqlite: bool) -> Decimal | None:
    if func_name in ("count", "unique"):
        return Decimal(parts[0])
    if func_name in ("max", "min"):
        return None if parts[0] is None else to_decimal(parts[0])
    if is_sqlite:
        high, low, real, count = parts
        total = Decimal((high or 0) * _SPLIT + (low or 0)) + Decimal(real or 0)
    else:
        total, count = Decimal(parts[0] or 0), parts[1]
    if func_name == "sum":
        return total
    return None if not count else total / Decimal(count)


def aggregate(conn: Connection, q: Query, *, total: bool, use_rollups: bool = True) -> list[Row]:
    """Aggregated rows per (bucket key, group), or one row for the whole range: from the
    rollups where they answer (sum, count, avg, min, max; no property grouping), else from
    raw events. ``use_rollups=False`` reads raw events only (the reference in tests)."""
    is_sqlite = portable.is_sqlite(conn)
    if is_sqlite:
        conn.connection.dbapi_connection.create_aggregate(  # type: ignore[union-attr]
            "dd_decimal_sum", 1, _DecimalSum
        )
    if q.meter.aggregation_func == "latest":
        return _latest(conn, q, total=total, is_sqlite=is_sqlite)
    if (
        use_rollups
        and q.meter.aggregation_func in ROLLED_FUNCS
        and q.group_by in (None, "customer")
    ):
        combined = _from_rollups(conn, q, total=total, is_sqlite=is_sqlite)
        if combined is not None:
            return combined
    key = (
        literal(0)
        if total
        else key_sql(c.timestamp, q.time_from, q.time_to, q.window, q.tz, q.buckets)
    )
    groups = [] if total else _group_sql(q, is_sqlite)
    values = _value_sql(q, is_sqlite)
    labels = [key.label("k"), *(g.label(f"g{i}") for i, g in enumerate(groups))]
    query = select(*labels, *values).where(and_(*_conditions(q, is_sqlite)))
    query = query.group_by(*[label.name for label in labels])
    rows = []
    for row in conn.execute(query):
        parts = row[len(labels) :]
        value = _combine(q.meter.aggregation_func, parts, is_sqlite)
        rows.append(Row(int(row[0]), tuple(row[1 : len(labels)]), value))
    return rows


# A range from before the first to after the last possible event reads the whole-history rows.
_FOREVER_US = to_micros(datetime(3000, 1, 1, tzinfo=UTC))


def _plan(q: Query, total: bool) -> Plan | None:
    time_from, time_to = to_micros(q.time_from), to_micros(q.time_to)
    if total and time_from <= 0 and time_to >= _FOREVER_US:
        return Plan(ranges={rollups.ALL_PERIOD: [(0, 1)]})
    bounds = (
        [(time_from, time_to)]
        if total
        else [(to_micros(b.start), to_micros(b.end)) for b in q.buckets]
    )
    return split(bounds, tuple(reversed(rollups.PERIODS_S)))


def _subject_group(subject: str) -> tuple[Any, ...]:
    if subject.startswith("c"):
        return (uuid.UUID(hex=subject[1:]), None)
    return (None, subject[1:])


def _from_rollups(conn: Connection, q: Query, *, total: bool, is_sqlite: bool) -> list[Row] | None:
    """The rows of :func:`aggregate` from rollups plus raw events at the ragged edges; None
    when the rollups cannot answer (a rebuild pending, or buckets they do not tile)."""
    plan = _plan(q, total)
    if plan is None or rollups.pending_meters(conn, q.tenant, [q.meter.id]):
        return None
    by_subject = not total and q.group_by == "customer"
    subject = None if q.customer_id is None else rollups.subject_of(q.customer_id, None)

    def key_of(column: Any) -> Any:
        if total:
            return literal(0)
        return key_sql(column, q.time_from, q.time_to, q.window, q.tz, q.buckets)

    found: dict[tuple[int, tuple[Any, ...]], Partial] = {}

    def add(key: int, group: tuple[Any, ...], partial: Partial) -> None:
        if (key, group) in found:
            found[key, group].merge(partial)
        else:
            found[key, group] = partial

    for period, ranges in plan.ranges.items():
        for key, subj, partial in rollups.read(
            conn,
            q.tenant,
            q.meter.id,
            period,
            ranges,
            key_of,
            subject=subject,
            by_subject=by_subject,
        ):
            add(key, _subject_group(subj) if subj is not None else (), partial)
    if plan.raw:
        for key, group, partial in _raw_partials(conn, q, plan.raw, total, is_sqlite):
            add(key, group, partial)
    func_name = q.meter.aggregation_func
    return [Row(key, group, p.value(func_name)) for (key, group), p in found.items()]


def _raw_partials(
    conn: Connection, q: Query, ranges: list[tuple[int, int]], total: bool, is_sqlite: bool
) -> list[tuple[int, tuple[Any, ...], Partial]]:
    """Partial aggregates of raw events with timestamps in ``ranges``."""
    ts = type_coerce(c.timestamp, BigInteger)
    key = (
        literal(0)
        if total
        else key_sql(c.timestamp, q.time_from, q.time_to, q.window, q.tz, q.buckets)
    )
    groups = [] if total else _group_sql(q, is_sqlite)
    values: list[Any] = [func.count()]
    counted = q.meter.aggregation_func == "count"
    if not counted:
        path = JsonPath(c.properties, split_path(q.meter.aggregation_property), is_sqlite)
        number = case((path.is_number(), path.number()))
        values += [
            func.count(number),
            *_sum_sql(path, is_sqlite),
            func.min(number),
            func.max(number),
        ]
    labels = [key.label("k"), *(g.label(f"g{i}") for i, g in enumerate(groups))]
    in_ranges = or_(*(and_(ts >= low, ts < high) for low, high in ranges))
    query = select(*labels, *values).where(and_(*_conditions(q, is_sqlite)), in_ranges)
    query = query.group_by(*[label.name for label in labels])
    out = []
    for row in conn.execute(query):
        parts = list(row[len(labels) :])
        partial = Partial(n_events=int(parts[0]))
        if not counted:
            partial.n_values = int(parts[1] or 0)
            if is_sqlite:
                high, low, real = parts[2:5]
                partial.int_total = (high or 0) * _SPLIT + (low or 0)
                partial.dec_total = None if real is None else Decimal(real)
            else:
                partial.dec_total = None if parts[2] is None else Decimal(parts[2])
            partial.min_value, partial.max_value = parts[-2], parts[-1]
        out.append((int(row[0]), tuple(row[1 : len(labels)]), partial))
    return out


def _latest(conn: Connection, q: Query, *, total: bool, is_sqlite: bool) -> list[Row]:
    """Per (bucket, group) the numeric value of the latest event with one (null when none
    has): events with a number rank first, then by timestamp and id, newest first."""
    path = JsonPath(c.properties, split_path(q.meter.aggregation_property), is_sqlite)
    key = (
        literal(0)
        if total
        else key_sql(c.timestamp, q.time_from, q.time_to, q.window, q.tz, q.buckets)
    )
    groups = [] if total else _group_sql(q, is_sqlite)
    has_number = case((path.is_number(), 1), else_=0)
    order = [has_number.desc(), c.timestamp.desc(), c.id.desc()]
    rank = func.row_number().over(partition_by=[key, *groups], order_by=order)
    labels = [key.label("k"), *(g.label(f"g{i}") for i, g in enumerate(groups))]
    value = case((path.is_number(), path.number())).label("v")
    inner = (
        select(*labels, value, rank.label("rn")).where(and_(*_conditions(q, is_sqlite))).subquery()
    )
    rows = conn.execute(select(inner).where(inner.c.rn == 1))
    return [
        Row(
            int(row.k),
            tuple(row[1 : 1 + len(groups)]),
            None if row.v is None else to_decimal(row.v),
        )
        for row in rows
    ]


_PATH = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")
_EMPTY_IS_ZERO = ("count", "sum", "unique")


def _render_group(q: Query, group: tuple[Any, ...]) -> Any:
    if q.group_by == "customer":
        customer_id, external_id = group
        if customer_id is None:
            return external_id
        return render_id("customer", uuid.UUID(str(customer_id)))
    (value,) = group
    return None if value is None else json.loads(value)


def report(conn: Connection, q: Query, *, use_rollups: bool = True) -> UsageOut:
    """The usage response: dense buckets without group_by, the non-empty (bucket, group)
    pairs with it, and the total over the whole range."""
    func_name = q.meter.aggregation_func
    empty = Decimal(0) if func_name in _EMPTY_IS_ZERO else None
    rows = aggregate(conn, q, total=False, use_rollups=use_rollups)
    totals = aggregate(conn, q, total=True, use_rollups=use_rollups)
    by_key = {b.key: b for b in q.buckets}
    out: list[GroupedUsageBucket | UsageBucket] = []
    if q.group_by is None:
        values = {row.key: row.value for row in rows}
        for b in q.buckets:
            value = values.get(b.key, empty)
            out.append(UsageBucket(start=b.start, end=b.end, value=format_value(value)))
    else:
        for row in rows:
            b = by_key[row.key]
            group = _render_group(q, row.group)
            text = format_value(row.value)
            out.append(GroupedUsageBucket(start=b.start, end=b.end, value=text, group=group))
        out.sort(key=lambda x: (x.start, json.dumps(getattr(x, "group", None), sort_keys=True)))
    return UsageOut(
        meter_id=render_id("meter", q.meter.id),
        from_=q.time_from,
        to=q.time_to,
        window=q.window,
        timezone=str(q.tz),
        buckets=out,
        total=format_value(totals[0].value if totals else empty),
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise field("timezone", f"unknown IANA timezone {name!r}") from None


def usage_query(
    tenant: Tenant,
    meter: Any,
    time_from: datetime,
    time_to: datetime,
    window: Window,
    timezone: str,
    customer_id: str | None,
    group_by: str | None,
) -> Query:
    """Check the query parameters (each failure is a 422 naming the parameter)."""
    for loc, value in (("from", time_from), ("to", time_to)):
        if value.tzinfo is None:
            raise field(loc, "needs a timezone offset (e.g. Z)")
    time_from, time_to = time_from.astimezone(UTC), time_to.astimezone(UTC)
    if time_from >= time_to:
        raise field("to", "must be after from")
    tz = _zone(timezone)
    customer = None
    if customer_id is not None:
        customer = parse_id("customer", customer_id)
        if customer is None:
            raise field("customer_id", "is not a customer id")
    if group_by is not None and group_by != "customer" and not _PATH.fullmatch(group_by):
        raise field("group_by", "must be customer or a property path")
    try:
        found = buckets(time_from, time_to, window, tz)
    except TooManyBuckets:
        msg = f"gives more than {MAX_BUCKETS} buckets: use a larger window or a shorter range"
        raise field("window", msg) from None
    return Query(tenant, meter, time_from, time_to, window, tz, found, customer, group_by)


def totals_by_customer(
    conn: Connection,
    tenant: Tenant,
    meter: Any,
    customer_ids: Sequence[uuid.UUID],
    time_from: datetime,
    time_to: datetime,
) -> dict[uuid.UUID, Decimal | None]:
    """The meter's aggregation over ``[time_from, time_to)`` for each of these customers,
    in one query (customers without events are left out)."""
    if not customer_ids:
        return {}
    base = usage_query(tenant, meter, time_from, time_to, "none", "UTC", None, "customer")
    q = dataclasses.replace(base, customer_ids=tuple(sorted(set(customer_ids))))
    out: dict[uuid.UUID, Decimal | None] = {}
    for row in aggregate(conn, q, total=False):
        customer_id, _external_id = row.group
        if customer_id is not None:
            out[uuid.UUID(str(customer_id))] = row.value
    return out
