"""The outbox: how every producer emits webhook events, in the transaction of the change.

Call it inside the transaction that makes the change, with the same connection::

    from drawdown.webhooks.outbox import OutboxEvent, emit_many

    emit_many(conn, tenant, [OutboxEvent("hold.created", {"hold_id": ...}, now)])

The events commit or roll back with the change: no event is lost, none is sent for a change
that did not happen. The caller pays one multi-row insert per call (COPY on PostgreSQL),
whatever the number of events, and nothing else; fan-out to endpoints, signing and HTTP
happen in the delivery worker after commit. ``data`` must be JSON-ready (ids rendered,
amounts as decimal strings); balance events carry ``ledger_sequence``."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import Connection

from drawdown.db.engine import after_commit
from drawdown.ids import new_id
from drawdown.tenancy import Tenant
from drawdown.webhooks import store
from drawdown.webhooks.records import OutboxEvent
from drawdown.webhooks.types import is_known_type

__all__ = ["MESSAGE_PREFIX", "NEW_EVENTS", "OutboxEvent", "emit", "emit_many"]

# Rendered ids of webhook events (``webhook-id``): ``msg_<32 hex>``.
MESSAGE_PREFIX = "msg"

# Set when this process commits new events: its delivery worker wakes at once instead of
# at its next poll (workers of other processes still poll).
NEW_EVENTS = threading.Event()


def emit_many(conn: Connection, tenant: Tenant, events: Sequence[OutboxEvent]) -> None:
    """Write ``events`` to the outbox in the caller's transaction (one statement)."""
    if not events:
        return
    rows = []
    for event in events:
        assert is_known_type(event.type) and event.type != "*", event.type
        rows.append(
            {
                "id": new_id(),
                "organization_id": tenant.organization_id,
                "mode": tenant.mode,
                "type": event.type,
                "occurred_at": event.occurred_at,
                "data": event.data,
                "dispatched_at": None,
            }
        )
    store.insert_events(conn, rows)
    after_commit(conn, NEW_EVENTS.set)


def emit(conn: Connection, tenant: Tenant, event: OutboxEvent) -> None:
    emit_many(conn, tenant, [event])
