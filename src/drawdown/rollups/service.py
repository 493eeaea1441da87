"""Rollup rules: what one stored event adds to its meter's rows, moving an external
customer's rows to the customer that claims them (when it is created), and rebuilding a meter's rows
from stored events in bounded chunks (a meter made after its events were stored).

A row holds the partial aggregate of the matched events of one meter and one subject (a
customer, or the external id of events no customer has claimed yet) in one UTC bucket of
15 minutes, an hour or a day (every IANA offset in use is a multiple of 15 minutes), plus
one row per meter and subject over the whole history."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from drawdown.rollups import store
from drawdown.rollups.partial import ROLLED_FUNCS, Partial
from drawdown.tenancy import Tenant

__all__ = [
    "ALL_PERIOD",
    "BACKFILL_CHUNK_EVENTS",
    "PERIODS_S",
    "EventFacts",
    "RollupMeter",
    "backfill_step",
    "claim",
    "has_backfills",
    "lock_for_writing",
    "pending_meters",
    "read",
    "record",
    "start_backfill",
    "subject_of",
]

# Bucketed periods, finest first. 15 minutes is the finest any timezone offset needs.
PERIODS_S = (900, 3600, 86400)
ALL_PERIOD = store.ALL_PERIOD
BACKFILL_CHUNK_EVENTS = 20_000
_US = 1_000_000
_DAY_US = 86400 * _US
_MISSING = object()
lock_for_writing = store.lock_for_writing
pending_meters = store.pending_meters
read = store.read_partials


def has_backfills(conn: Connection) -> bool:
    return store.next_backfill(conn) is not None


class RollupMeter(Protocol):
    @property
    def meter_id(self) -> uuid.UUID: ...
    @property
    def func(self) -> str: ...
    @property
    def keys(self) -> list[str]: ...
    @property
    def matches(self) -> Callable[[str, int, Mapping[str, Any]], bool]: ...


@dataclass(frozen=True, slots=True)
class EventFacts:
    name: str
    customer_id: uuid.UUID | None
    external_customer_id: str | None
    timestamp_us: int
    properties: Mapping[str, Any]


def subject_of(customer_id: uuid.UUID | None, external_customer_id: str | None) -> str:
    if customer_id is not None:
        return "c" + customer_id.hex
    return "x" + (external_customer_id or "")


def _number(properties: Mapping[str, Any], keys: list[str]) -> Any:
    node: Any = properties
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key, _MISSING)
        if node is _MISSING:
            return None
    if isinstance(node, int | float) and not isinstance(node, bool):
        return node
    return None


def _finest(
    meters: Mapping[str, RollupMeter], facts: Iterable[EventFacts]
) -> dict[store.Key, Partial]:
    """Partials of the finest period for ``facts`` (events of other meters are skipped)."""
    span_us = PERIODS_S[0] * _US
    out: dict[store.Key, Partial] = {}
    for fact in facts:
        meter = meters.get(fact.name)
        if meter is None or meter.func not in ROLLED_FUNCS:
            continue
        if not meter.matches(fact.name, fact.timestamp_us, fact.properties):
            continue
        ts = fact.timestamp_us
        subject = subject_of(fact.customer_id, fact.external_customer_id)
        key = (meter.meter_id, PERIODS_S[0], subject, ts - ts % span_us)
        partial = out.get(key)
        if partial is None:
            partial = out[key] = Partial()
        value = None if meter.func == "count" else _number(fact.properties, meter.keys)
        partial.add_event(value)
    return out


def _with_coarser(finest: dict[store.Key, Partial]) -> dict[store.Key, Partial]:
    out = dict(finest)
    for (meter_id, _, subject, start), partial in finest.items():
        coarser = [(p, start - start % (p * _US)) for p in PERIODS_S[1:]]
        for period, bucket in [*coarser, (ALL_PERIOD, 0)]:
            key = (meter_id, period, subject, bucket)
            found = out.get(key)
            if found is None:
                found = out[key] = Partial()
            found.merge(partial)
    return out


def record(
    conn: Connection, tenant: Tenant, meters: Mapping[str, RollupMeter], facts: Iterable[EventFacts]
) -> None:
    """Add newly stored events to the rollups of their meters (in the caller's transaction,
    after :func:`lock_for_writing`)."""
    store.upsert(conn, tenant, _with_coarser(_finest(meters, facts)))


def claim(
    conn: Connection,
    tenant: Tenant,
    external_id: str,
    meters: Mapping[str, RollupMeter],
    claimed: Iterable[EventFacts],
) -> None:
    """Claiming: the claimed events (all stored events of ``external_id`` that no customer
    had, now with the customer's id) leave the external id's rows for the customer's."""
    meter_ids = [m.meter_id for m in meters.values() if m.func in ROLLED_FUNCS]
    if not meter_ids:
        return
    periods = [*PERIODS_S, ALL_PERIOD]
    store.delete_rows(conn, tenant, meter_ids, periods, subject=subject_of(None, external_id))
    record(conn, tenant, meters, claimed)


def start_backfill(
    conn: Connection, tenant: Tenant, meter_id: uuid.UUID, event_name: str, now: datetime
) -> None:
    """A meter made (or whose definition changed) while events of its name may be stored:
    drop its rows and queue a rebuild; usage reads raw events until it is done. Waits for
    writers in flight (PostgreSQL), so every later batch sees this meter."""
    store.lock_for_backfill(conn, tenant)
    periods = [*PERIODS_S, ALL_PERIOD]
    store.delete_rows(conn, tenant, [meter_id], periods)
    span = store.first_event_us(conn, tenant, event_name)
    if span is None:
        store.delete_backfill(conn, meter_id)
        return
    first_us, last_us = span
    store.add_backfill(
        conn,
        tenant,
        meter_id,
        first_us - first_us % _DAY_US,
        last_us - last_us % _DAY_US + _DAY_US,
        now,
    )


def backfill_step(
    conn: Connection,
    meter_for: Callable[[Tenant, uuid.UUID], tuple[str, RollupMeter] | None],
    max_events: int = BACKFILL_CHUNK_EVENTS,
) -> bool:
    """Rebuild one bounded chunk of the oldest backfill job; False when there is none.
    ``meter_for`` gives a meter's event name and definition (None if it is gone)."""
    job = store.next_backfill(conn)
    if job is None:
        return False
    tenant = job.tenant
    store.lock_for_backfill(conn, tenant)
    job = store.next_backfill(conn, job.meter_id)  # again, under the lock
    if job is None:
        return True
    found = meter_for(tenant, job.meter_id)
    if found is None or found[1].func not in ROLLED_FUNCS:
        store.delete_backfill(conn, job.meter_id)
        return True
    event_name, meter = found
    start = job.next_us
    rows, end = store.event_rows(conn, tenant, event_name, start, max_events)
    end = job.until_us if end is None or end > job.until_us else end
    finest = PERIODS_S[0]
    store.delete_rows(conn, tenant, [job.meter_id], [finest], start_us=start, end_us=end)
    facts = (
        EventFacts(event_name, row.customer_id, row.external_customer_id, row.ts, row.properties)
        for row in rows
        if row.ts < end
    )
    store.upsert(conn, tenant, _finest({event_name: meter}, facts))
    source = finest
    for period in PERIODS_S[1:]:
        # Rebuild the coarser buckets this chunk completed, from the finer rows.
        span_us = period * _US
        low, high = start - start % span_us, end - end % span_us
        if low < high:
            store.derive_period(conn, tenant, job.meter_id, source, period, low, high)
        source = period
    if end >= job.until_us:
        store.derive_period(conn, tenant, job.meter_id, PERIODS_S[-1], ALL_PERIOD)
        store.delete_backfill(conn, job.meter_id)
    else:
        store.set_backfill_next(conn, job.meter_id, end)
    return True
