"""Webhook rules: endpoints (URLs pass the SSRF guard, secrets shown once, rotation with a
grace period), the event log, redelivery and replay. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.db.engine import after_commit
from drawdown.errors import ConflictError, NotFoundError, field
from drawdown.ids import new_id, parse_id, render_id
from drawdown.paging import Numbered, Slice
from drawdown.tenancy import Tenant
from drawdown.webhooks import store
from drawdown.webhooks.guard import UnsafeUrl, check_url
from drawdown.webhooks.outbox import NEW_EVENTS
from drawdown.webhooks.records import Attempt, DeliveryView, Endpoint, StoredEvent
from drawdown.webhooks.schemas import (
    AttemptOut,
    EndpointCreate,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
    WebhookEventOut,
)
from drawdown.webhooks.signing import new_secret

__all__ = [
    "MAX_REPLAY_EVENTS",
    "OPERATOR_DISABLED",
    "count_failing_endpoints",
    "create_endpoint",
    "delete_endpoint",
    "endpoint_deliveries",
    "endpoints_overview",
    "get_endpoint",
    "get_endpoint_of",
    "get_event",
    "list_endpoints",
    "redeliver",
    "render_attempt",
    "render_endpoint",
    "render_event",
    "replay",
    "rotate_secret",
    "send_test",
    "set_enabled",
    "update_endpoint",
]

MAX_REPLAY_EVENTS = 10_000
OPERATOR_DISABLED = "disabled by the operator"


def _check_url(url: str, allow_private: bool, loc: list[str | int]) -> None:
    try:
        check_url(url, allow_private=allow_private)
    except UnsafeUrl as exc:
        raise field(loc, str(exc)) from None


def create_endpoint(
    conn: Connection,
    tenant: Tenant,
    body: EndpointCreate,
    now: datetime,
    *,
    allow_private: bool,
    flavor: str = "native",
) -> Endpoint:
    _check_url(body.url, allow_private, ["url"])
    endpoint_id = new_id()
    store.insert_endpoint(
        conn,
        {
            "id": endpoint_id,
            "organization_id": tenant.organization_id,
            "mode": tenant.mode,
            "url": body.url,
            "description": body.description,
            "event_types": body.event_types,
            "metadata_": body.metadata,
            "secret": new_secret(),
            "previous_secret": None,
            "previous_secret_expires_at": None,
            "flavor": flavor,
            "enabled": body.enabled,
            "disabled_reason": None,
            "consecutive_failures": 0,
            "created_at": now,
            "updated_at": now,
        },
    )
    return _reload(conn, tenant, endpoint_id)


def _reload(conn: Connection, tenant: Tenant, endpoint_id: Any) -> Endpoint:
    endpoint = store.get_endpoint(conn, tenant, endpoint_id)
    assert endpoint is not None
    return endpoint


def get_endpoint(conn: Connection, tenant: Tenant, ref: str) -> Endpoint:
    parsed = parse_id("webhook_endpoint", ref)
    endpoint = None if parsed is None else store.get_endpoint(conn, tenant, parsed)
    if endpoint is None:
        raise NotFoundError(f"No webhook endpoint {ref}")
    return endpoint


def update_endpoint(
    conn: Connection,
    tenant: Tenant,
    endpoint: Endpoint,
    body: EndpointUpdate,
    now: datetime,
    *,
    allow_private: bool,
) -> Endpoint:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name in ("url", "event_types", "description", "enabled", "metadata"):
        if name in changes and changes[name] is None:
            raise field(name, "cannot be null")
    if "url" in changes:
        _check_url(changes["url"], allow_private, ["url"])
    if "metadata" in changes:
        changes["metadata_"] = changes.pop("metadata")
    if changes.get("enabled") is True and not endpoint.enabled:
        changes.update(disabled_reason=None, consecutive_failures=0)
    if changes.get("enabled") is False and endpoint.enabled:
        changes["disabled_reason"] = OPERATOR_DISABLED
    if changes:
        store.update_endpoint(conn, tenant, endpoint.id, {**changes, "updated_at": now})
    return _reload(conn, tenant, endpoint.id)


def set_enabled(
    conn: Connection, tenant: Tenant, endpoint: Endpoint, enabled: bool, now: datetime
) -> Endpoint:
    """Enabling resets the failure counter; disabling records who did it."""
    return update_endpoint(
        conn, tenant, endpoint, EndpointUpdate(enabled=enabled), now, allow_private=True
    )


def delete_endpoint(conn: Connection, tenant: Tenant, endpoint: Endpoint, now: datetime) -> None:
    """Soft delete: its delivery history stays readable, nothing more is sent."""
    store.update_endpoint(
        conn, tenant, endpoint.id, {"deleted_at": now, "enabled": False, "updated_at": now}
    )


def rotate_secret(
    conn: Connection, tenant: Tenant, endpoint: Endpoint, grace_s: int, now: datetime
) -> Endpoint:
    """A new secret; the old one keeps signing (a second signature) for ``grace_s``."""
    store.update_endpoint(
        conn,
        tenant,
        endpoint.id,
        {
            "secret": new_secret(),
            "previous_secret": endpoint.secret if grace_s > 0 else None,
            "previous_secret_expires_at": now + timedelta(seconds=grace_s) if grace_s else None,
            "updated_at": now,
        },
    )
    return _reload(conn, tenant, endpoint.id)


def send_test(conn: Connection, tenant: Tenant, endpoint: Endpoint, now: datetime) -> StoredEvent:
    """A ``webhook.test`` event for this endpoint alone (whatever it subscribes to)."""
    if not endpoint.enabled:
        raise ConflictError("The endpoint is disabled; enable it first", code="endpoint_disabled")
    event_id = new_id()
    data = {"endpoint_id": render_id("webhook_endpoint", endpoint.id), "message": "hello"}
    store.insert_events(
        conn,
        [
            {
                "id": event_id,
                "organization_id": tenant.organization_id,
                "mode": tenant.mode,
                "type": "webhook.test",
                "occurred_at": now,
                "data": data,
                # Already fanned out: it goes to this endpoint only.
                "dispatched_at": now,
            }
        ],
    )
    event = store.get_event(conn, tenant, event_id)
    assert event is not None
    _schedule(conn, [store.delivery_row(event, endpoint.id, now)])
    return event


def _schedule(conn: Connection, rows: list[dict[str, Any]]) -> None:
    store.insert_deliveries(conn, rows)
    after_commit(conn, NEW_EVENTS.set)  # this process's worker sends them at once


def get_event(conn: Connection, tenant: Tenant, ref: str) -> StoredEvent:
    parsed = parse_id("webhook_event", ref)
    event = None if parsed is None else store.get_event(conn, tenant, parsed)
    if event is None:
        raise NotFoundError(f"No webhook event {ref}")
    return event


def redeliver(
    conn: Connection, tenant: Tenant, event: StoredEvent, endpoint: Endpoint | None, now: datetime
) -> int:
    """Send ``event`` again (same ``webhook-id``, new timestamp) to one endpoint, or to every
    enabled endpoint subscribed to its type."""
    if endpoint is not None:
        targets = [endpoint]
    else:
        targets = [e for e in store.enabled_endpoints(conn, [tenant]) if e.subscribes(event.type)]
    _schedule(conn, [store.delivery_row(event, e.id, now) for e in targets])
    return len(targets)


def replay(
    conn: Connection,
    tenant: Tenant,
    endpoint: Endpoint,
    window: tuple[datetime, datetime | None],
    only_failed: bool,
    now: datetime,
) -> int:
    """Schedule the endpoint's events of ``[since, until)`` again (oldest first, at most
    MAX_REPLAY_EVENTS); with ``only_failed``, those that never reached it."""
    since, until = window
    if until is not None and until <= since:
        raise field("until", "must be after since")
    events = store.replay_event_ids(
        conn, tenant, endpoint.id, window, only_failed, MAX_REPLAY_EVENTS
    )
    rows = [store.delivery_row(e, endpoint.id, now) for e in events if endpoint.subscribes(e.type)]
    _schedule(conn, rows)
    return len(rows)


def endpoints_overview(conn: Connection, tenant: Tenant) -> list[tuple[Endpoint, Attempt | None]]:
    """Every endpoint (oldest first) with its most recent attempt."""
    rows = conn.execute(store.endpoint_list_query(tenant).order_by(store.ep.id))
    endpoints = [store.to_endpoint(row) for row in rows]
    latest = store.last_attempts(conn, tenant, [e.id for e in endpoints])
    return [(endpoint, latest.get(endpoint.id)) for endpoint in endpoints]


def endpoint_deliveries(
    conn: Connection, tenant: Tenant, endpoint: Endpoint, limit: int
) -> list[DeliveryView]:
    return store.endpoint_deliveries(conn, tenant, endpoint.id, limit)


def count_failing_endpoints(conn: Connection, tenant: Tenant) -> int:
    return store.count_failing(conn, tenant, OPERATOR_DISABLED)


def list_endpoints(
    conn: Connection, tenant: Tenant, flavor: str, page: Numbered
) -> Slice[Endpoint]:
    """A dialect's numbered page of its endpoints, with their total count."""
    return store.endpoints_page(conn, tenant, flavor, page)


def get_endpoint_of(conn: Connection, tenant: Tenant, endpoint_id: Any, flavor: str) -> Endpoint:
    """An endpoint made through a dialect, by its UUID; another surface's is a 404."""
    endpoint = store.get_endpoint(conn, tenant, endpoint_id)
    if endpoint is None or endpoint.flavor != flavor:
        raise NotFoundError(f"No webhook endpoint {endpoint_id}")
    return endpoint


# -- rendering ---------------------------------------------------------------------------


def render_endpoint(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut(
        id=render_id("webhook_endpoint", endpoint.id),
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        metadata=endpoint.metadata,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        livemode=endpoint.mode == "live",
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def render_with_secret(endpoint: Endpoint) -> EndpointWithSecret:
    return EndpointWithSecret(**render_endpoint(endpoint).model_dump(), secret=endpoint.secret)


def render_event(event: StoredEvent | Any) -> WebhookEventOut:
    if not isinstance(event, StoredEvent):
        event = store.to_event(event)
    return WebhookEventOut(
        id=render_id("webhook_event", event.id),
        type=event.type,
        timestamp=event.occurred_at,
        data=event.data,
        livemode=event.mode == "live",
    )


def render_attempt(row: Attempt | Any) -> AttemptOut:
    attempt = row if isinstance(row, Attempt) else store.to_attempt(row)
    return AttemptOut(
        id=render_id("webhook_attempt", attempt.id),
        event_id=render_id("webhook_event", attempt.event_id),
        event_type=attempt.event_type,
        endpoint_id=render_id("webhook_endpoint", attempt.endpoint_id),
        attempt=attempt.attempt,
        succeeded=attempt.succeeded,
        http_code=attempt.http_code,
        error=attempt.error,
        response=attempt.response,
        latency_us=attempt.latency_us,
        created_at=attempt.created_at,
    )
