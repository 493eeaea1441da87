"""All SQL of the webhooks domain: endpoints, the outbox/event log, deliveries, attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from drawdown.db.paging import fetch_page
from drawdown.db.portable import among, copy_rows, for_update
from drawdown.db.scope import every_tenant, owned
from drawdown.db.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from drawdown.ids import new_id
from drawdown.paging import Numbered, Slice
from drawdown.tenancy import Tenant
from drawdown.webhooks.records import Attempt, DeliveryView, DueDelivery, Endpoint, StoredEvent

__all__ = [
    "any_due",
    "any_undispatched",
    "attempt_list_query",
    "claim_due",
    "count_failing",
    "count_failure",
    "count_pending",
    "delivery_row",
    "disable_endpoint",
    "enabled_endpoints",
    "endpoint_deliveries",
    "endpoint_list_query",
    "endpoints_page",
    "event_list_query",
    "get_endpoint",
    "get_event",
    "insert_attempts",
    "insert_deliveries",
    "insert_endpoint",
    "insert_events",
    "last_attempts",
    "leased_row",
    "lock_undispatched",
    "mark_dispatched",
    "mark_succeeded",
    "prune",
    "replay_event_ids",
    "reset_failures",
    "throttle_endpoint",
    "to_attempt",
    "to_endpoint",
    "to_event",
    "update_delivery",
    "update_endpoint",
]

ep = webhook_endpoints.c
ev = webhook_events.c
dl = webhook_deliveries.c
at = webhook_attempts.c


def _scoped(table: Any, tenant: Tenant) -> Any:
    return owned(table, tenant)


# -- records ---------------------------------------------------------------------------


def to_endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        organization_id=row.organization_id,
        mode=row.mode,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types),
        metadata=dict(row.metadata_),
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_secret_expires_at=row.previous_secret_expires_at,
        flavor=row.flavor,
        enabled=bool(row.enabled),
        disabled_reason=row.disabled_reason,
        consecutive_failures=row.consecutive_failures,
        created_at=row.created_at,
        updated_at=row.updated_at,
        throttled_until=row.throttled_until,
    )


def to_event(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        organization_id=row.organization_id,
        mode=row.mode,
        type=row.type,
        occurred_at=row.occurred_at,
        data=row.data,
        dispatched_at=row.dispatched_at,
    )


def to_attempt(row: Any) -> Attempt:
    return Attempt(
        id=row.id,
        delivery_id=row.delivery_id,
        event_id=row.event_id,
        event_type=row.event_type,
        endpoint_id=row.endpoint_id,
        attempt=row.attempt,
        succeeded=bool(row.succeeded),
        http_code=row.http_code,
        error=row.error,
        response=row.response,
        latency_us=row.latency_us,
        created_at=row.created_at,
    )


# -- the outbox --------------------------------------------------------------------------


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """One multi-row write (COPY on PostgreSQL) for the whole batch."""
    copy_rows(conn, webhook_events, rows)


def lock_undispatched(conn: Connection, limit: int) -> list[StoredEvent]:
    """The oldest events not yet fanned out, of every tenant (the worker's queue), skipping
    those another worker holds."""
    query = select(webhook_events).where(ev.dispatched_at.is_(None)).order_by(ev.id).limit(limit)
    locked = for_update(conn, every_tenant(query), skip_locked=True)
    return [to_event(row) for row in conn.execute(locked)]


def any_undispatched(conn: Connection) -> bool:
    query = every_tenant(select(ev.id).where(ev.dispatched_at.is_(None)).limit(1))
    return conn.execute(query).first() is not None


def mark_dispatched(conn: Connection, event_ids: Sequence[uuid.UUID], now: datetime) -> None:
    if event_ids:
        conn.execute(update(webhook_events).where(ev.id.in_(event_ids)).values(dispatched_at=now))


def get_event(conn: Connection, tenant: Tenant, event_id: uuid.UUID) -> StoredEvent | None:
    query = select(webhook_events).where(ev.id == event_id, _scoped(webhook_events, tenant))
    row = conn.execute(query).one_or_none()
    return None if row is None else to_event(row)


def event_list_query(
    tenant: Tenant, type_: str | None, since: datetime | None, until: datetime | None
) -> Select[Any]:
    query = select(webhook_events).where(_scoped(webhook_events, tenant))
    if type_ is not None:
        query = query.where(ev.type == type_)
    if since is not None:
        query = query.where(ev.occurred_at >= since)
    if until is not None:
        query = query.where(ev.occurred_at < until)
    return query


# -- endpoints -------------------------------------------------------------------------


def insert_endpoint(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(webhook_endpoints).values(**values))


def get_endpoint(conn: Connection, tenant: Tenant, endpoint_id: uuid.UUID) -> Endpoint | None:
    query = select(webhook_endpoints).where(
        ep.id == endpoint_id, ep.deleted_at.is_(None), _scoped(webhook_endpoints, tenant)
    )
    row = conn.execute(query).one_or_none()
    return None if row is None else to_endpoint(row)


def endpoint_list_query(tenant: Tenant, flavor: str | None = None) -> Select[Any]:
    query = select(webhook_endpoints).where(
        _scoped(webhook_endpoints, tenant), ep.deleted_at.is_(None)
    )
    if flavor is not None:
        query = query.where(ep.flavor == flavor)
    return query


def update_endpoint(
    conn: Connection, tenant: Tenant, endpoint_id: uuid.UUID, values: dict[str, Any]
) -> None:
    conn.execute(
        update(webhook_endpoints)
        .where(ep.id == endpoint_id, _scoped(webhook_endpoints, tenant))
        .values(**values)
    )


def enabled_endpoints(conn: Connection, tenants: Sequence[Tenant]) -> list[Endpoint]:
    if not tenants:
        return []
    query = select(webhook_endpoints).where(
        or_(*(_scoped(webhook_endpoints, t) for t in tenants)),
        ep.enabled.is_(True),
        ep.deleted_at.is_(None),
    )
    return [to_endpoint(row) for row in conn.execute(query)]


def disable_endpoint(conn: Connection, endpoint_id: uuid.UUID, reason: str, now: datetime) -> bool:
    """Disable an endpoint that is still enabled; True when this call disabled it."""
    result = conn.execute(
        update(webhook_endpoints)
        .where(ep.id == endpoint_id, ep.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=now)
    )
    return result.rowcount == 1


def count_failure(conn: Connection, endpoint_id: uuid.UUID, now: datetime) -> int:
    """One more event that exhausted its retries; the new count."""
    conn.execute(
        update(webhook_endpoints)
        .where(ep.id == endpoint_id)
        .values(consecutive_failures=ep.consecutive_failures + 1, updated_at=now)
    )
    row = conn.execute(select(ep.consecutive_failures).where(ep.id == endpoint_id)).one()
    return int(row[0])


def reset_failures(conn: Connection, endpoint_id: uuid.UUID) -> None:
    """The endpoint answered: no exhausted events in a row, no throttle."""
    conn.execute(
        update(webhook_endpoints)
        .where(
            ep.id == endpoint_id,
            or_(ep.consecutive_failures != 0, ep.throttled_until.is_not(None)),
        )
        .values(consecutive_failures=0, throttled_until=None)
    )


def throttle_endpoint(conn: Connection, endpoint_id: uuid.UUID, until: datetime) -> None:
    """Send nothing more to this endpoint before ``until`` (a later throttle wins)."""
    conn.execute(
        update(webhook_endpoints)
        .where(
            ep.id == endpoint_id,
            or_(ep.throttled_until.is_(None), ep.throttled_until < until),
        )
        .values(throttled_until=until)
    )


# -- deliveries and attempts ---------------------------------------------------------------


def delivery_row(event: StoredEvent, endpoint_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """A new delivery of ``event`` to an endpoint, due at once."""
    return {
        "id": new_id(),
        "organization_id": event.organization_id,
        "mode": event.mode,
        "event_id": event.id,
        "endpoint_id": endpoint_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def leased_row(
    delivery_id: uuid.UUID,
    event: StoredEvent,
    endpoint_id: uuid.UUID,
    now: datetime,
    lease_until: datetime,
) -> dict[str, Any]:
    """A new delivery that the worker writing it attempts at once: leased to it until
    ``lease_until`` (due again then, if the worker died before recording the attempt)."""
    return {
        **delivery_row(event, endpoint_id, lease_until),
        "id": delivery_id,
        "created_at": now,
        "updated_at": now,
    }


def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """One multi-row write (COPY on PostgreSQL)."""
    copy_rows(conn, webhook_deliveries, rows)


def mark_succeeded(conn: Connection, delivery_ids: Sequence[uuid.UUID], now: datetime) -> None:
    """Settle these leased deliveries as delivered, counting the attempt (one statement)."""
    if delivery_ids:
        conn.execute(
            update(webhook_deliveries)
            .where(among(conn, dl.id, delivery_ids))
            .values(status="succeeded", attempts=dl.attempts + 1, updated_at=now)
        )


def any_due(conn: Connection, now: datetime) -> bool:
    query = select(dl.id).where(dl.status == "pending", dl.next_attempt_at <= now).limit(1)
    return conn.execute(every_tenant(query)).first() is not None


def claim_due(
    conn: Connection, now: datetime, lease_until: datetime, limit: int
) -> list[DueDelivery]:
    """Lock due deliveries of enabled endpoints (skipping ones another worker holds) and
    lease them until ``lease_until``: a worker that dies mid-attempt leaves them due again
    once the lease runs out, so delivery is at least once."""
    live_endpoint = exists().where(
        ep.id == dl.endpoint_id,
        ep.enabled.is_(True),
        ep.deleted_at.is_(None),
        or_(ep.throttled_until.is_(None), ep.throttled_until <= now),
    )
    due = (
        select(dl.id)
        .where(dl.status == "pending", dl.next_attempt_at <= now, live_endpoint)
        .order_by(dl.next_attempt_at, dl.id)
        .limit(limit)
    )
    ids = list(conn.execute(for_update(conn, every_tenant(due), skip_locked=True)).scalars())
    if not ids:
        return []
    conn.execute(
        update(webhook_deliveries)
        .where(dl.id.in_(ids))
        .values(next_attempt_at=lease_until, updated_at=now)
    )
    endpoint_columns = [column.label(f"p_{column.name}") for column in webhook_endpoints.c]
    details = (
        select(
            dl.id.label("d_id"),
            dl.attempts.label("d_attempts"),
            ev.id.label("e_id"),
            ev.type.label("e_type"),
            ev.occurred_at.label("e_occurred_at"),
            ev.data.label("e_data"),
            *endpoint_columns,
        )
        .join(webhook_events, ev.id == dl.event_id)
        .join(webhook_endpoints, ep.id == dl.endpoint_id)
        .where(dl.id.in_(ids))
        .order_by(dl.id)
    )
    rows = list(conn.execute(every_tenant(details)))
    out = []
    for row in rows:
        endpoint = to_endpoint(_Prefixed(row._mapping, "p_"))
        event = StoredEvent(
            row.e_id,
            endpoint.organization_id,
            endpoint.mode,
            row.e_type,
            row.e_occurred_at,
            row.e_data,
            None,
        )
        out.append(DueDelivery(row.d_id, row.d_attempts, event, endpoint))
    return out


class _Prefixed:
    """Attribute access to the ``prefix``-labelled columns of a joined row."""

    def __init__(self, mapping: Any, prefix: str) -> None:
        self._mapping = mapping
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._mapping[self._prefix + name]


def update_delivery(conn: Connection, delivery_id: uuid.UUID, values: dict[str, Any]) -> None:
    conn.execute(update(webhook_deliveries).where(dl.id == delivery_id).values(**values))


def insert_attempts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """One multi-row write (COPY on PostgreSQL) of a pass's attempts."""
    copy_rows(conn, webhook_attempts, rows)


def attempt_list_query(
    tenant: Tenant,
    endpoint_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    succeeded: bool | None,
    http_code_class: int | None,
) -> Select[Any]:
    query = (
        select(webhook_attempts, ev.type.label("event_type"))
        .join(webhook_events, ev.id == at.event_id)
        .where(_scoped(webhook_attempts, tenant))
    )
    if endpoint_id is not None:
        query = query.where(at.endpoint_id == endpoint_id)
    if event_id is not None:
        query = query.where(at.event_id == event_id)
    if succeeded is not None:
        query = query.where(at.succeeded.is_(succeeded))
    if http_code_class is not None:
        low = http_code_class * 100
        query = query.where(at.http_code >= low, at.http_code < low + 100)
    return query


def replay_event_ids(
    conn: Connection,
    tenant: Tenant,
    endpoint_id: uuid.UUID,
    window: tuple[datetime, datetime | None],
    only_failed: bool,
    limit: int,
) -> list[StoredEvent]:
    """Events of the window (oldest first; no end: up to now); with ``only_failed``, those
    this endpoint has a failed delivery of and no successful one."""
    since, until = window
    query = select(webhook_events).where(_scoped(webhook_events, tenant), ev.occurred_at >= since)
    if until is not None:
        query = query.where(ev.occurred_at < until)
    if only_failed:
        mine = and_(dl.event_id == ev.id, dl.endpoint_id == endpoint_id)
        query = query.where(
            exists().where(mine, dl.status == "failed"),
            ~exists().where(mine, dl.status == "succeeded"),
        )
    rows = conn.execute(query.order_by(ev.id).limit(limit))
    return [to_event(row) for row in rows]


def count_pending(conn: Connection, endpoint_id: uuid.UUID) -> int:
    query = select(func.count()).where(dl.endpoint_id == endpoint_id, dl.status == "pending")
    return int(conn.execute(query).scalar_one())


def prune(conn: Connection, cutoff: datetime) -> int:
    """Forget what was settled before ``cutoff`` (every tenant): attempts and deliveries
    that are no longer pending, then events none of whose deliveries is left. Events still
    waiting for fan-out or with a pending delivery stay. Returns the events removed."""
    settled = select(dl.id).where(dl.status != "pending", dl.updated_at < cutoff)
    conn.execute(delete(webhook_attempts).where(at.delivery_id.in_(every_tenant(settled))))
    conn.execute(delete(webhook_deliveries).where(dl.status != "pending", dl.updated_at < cutoff))
    unused = ~exists().where(dl.event_id == ev.id)
    result = conn.execute(
        delete(webhook_events).where(ev.occurred_at < cutoff, ev.dispatched_at.is_not(None), unused)
    )
    return int(result.rowcount)


def endpoints_page(
    conn: Connection, tenant: Tenant, flavor: str, page: Numbered
) -> Slice[Endpoint]:
    """One numbered page (oldest first) of the endpoints a dialect made, with their count."""
    oldest_first = Numbered(page.number, page.size, (("id", False),))
    query = endpoint_list_query(tenant, flavor)
    return fetch_page(conn, query, ep.id, oldest_first, to_endpoint, {"id": ep.id})


# -- what the dashboard shows -----------------------------------------------------------------


def _latest_attempts(
    conn: Connection, tenant: Tenant, column: Any, ids: Sequence[uuid.UUID]
) -> Any:
    """The newest attempt per value of ``column`` (endpoint_id or delivery_id) among ``ids``."""
    rank = func.row_number().over(
        partition_by=column, order_by=(at.created_at.desc(), at.id.desc())
    )
    ranked = (
        select(webhook_attempts, ev.type.label("event_type"), rank.label("rank"))
        .join(webhook_events, ev.id == at.event_id)
        .where(_scoped(webhook_attempts, tenant), among(conn, column, list(ids)))
        .subquery()
    )
    return conn.execute(select(ranked).where(ranked.c.rank == 1))


def last_attempts(
    conn: Connection, tenant: Tenant, endpoint_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Attempt]:
    """Each endpoint's most recent attempt (one query)."""
    if not endpoint_ids:
        return {}
    rows = _latest_attempts(conn, tenant, at.endpoint_id, endpoint_ids)
    return {row.endpoint_id: to_attempt(row) for row in rows}


def endpoint_deliveries(
    conn: Connection, tenant: Tenant, endpoint_id: uuid.UUID, limit: int
) -> list[DeliveryView]:
    """The endpoint's newest deliveries with their latest attempts (two queries)."""
    query = (
        select(
            dl.id,
            dl.event_id,
            ev.type.label("event_type"),
            dl.status,
            dl.attempts,
            dl.next_attempt_at,
            dl.created_at,
        )
        .join(webhook_events, ev.id == dl.event_id)
        .where(_scoped(webhook_deliveries, tenant), dl.endpoint_id == endpoint_id)
        .order_by(dl.created_at.desc(), dl.id.desc())
        .limit(limit)
    )
    rows = list(conn.execute(query))
    latest = {}
    if rows:
        found = _latest_attempts(conn, tenant, at.delivery_id, [row.id for row in rows])
        latest = {row.delivery_id: to_attempt(row) for row in found}
    return [
        DeliveryView(
            row.id,
            row.event_id,
            row.event_type,
            row.status,
            row.attempts,
            row.next_attempt_at,
            row.created_at,
            latest.get(row.id),
        )
        for row in rows
    ]


def count_failing(conn: Connection, tenant: Tenant, operator_reason: str) -> int:
    """Endpoints that are failing now: retrying a delivery whose last attempt failed, or
    disabled by the server (410 Gone, retries exhausted), not by an operator."""
    retrying = exists().where(dl.endpoint_id == ep.id, dl.status == "pending", dl.attempts > 0)
    server_disabled = and_(
        ep.enabled.is_(False),
        ep.disabled_reason.is_not(None),
        ep.disabled_reason != operator_reason,
    )
    query = (
        select(func.count())
        .select_from(webhook_endpoints)
        .where(
            _scoped(webhook_endpoints, tenant),
            ep.deleted_at.is_(None),
            or_(and_(ep.enabled.is_(True), retrying), server_disabled),
        )
    )
    return int(conn.execute(query).scalar_one())
