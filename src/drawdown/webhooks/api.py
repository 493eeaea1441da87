"""HTTP routes of /v1/webhooks: endpoints, the event log, delivery attempts, redelivery and
replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from drawdown.errors import request_field
from drawdown.http.deps import ReadCtx, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    paginate,
)
from drawdown.ids import parse_id, render_id
from drawdown.schemas import QueryInstant
from drawdown.webhooks import service, store
from drawdown.webhooks.schemas import (
    AttemptOut,
    EndpointCreate,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
    RedeliverOut,
    ReplayIn,
    ReplayOut,
    RotateSecretIn,
    WebhookEventOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _endpoint_from_row(row: Any) -> EndpointOut:
    return service.render_endpoint(store.to_endpoint(row))


@router.post("/endpoints", status_code=201, response_model=EndpointWithSecret)
def create_endpoint(body: EndpointCreate, ctx: WriteCtx) -> EndpointWithSecret:
    """Create an endpoint; the response carries its signing secret, shown only here."""
    with fields_in("body"), ctx.database.write() as conn:
        endpoint = service.create_endpoint(
            conn,
            ctx.tenant,
            body,
            ctx.clock.now(),
            allow_private=ctx.settings.webhook_allow_private,
        )
        return service.render_with_secret(endpoint)


@router.get("/endpoints", response_model=Page[EndpointOut])
def list_endpoints(
    ctx: ReadCtx, limit: LimitParam = DEFAULT_LIMIT, starting_after: StartingAfterParam = None
) -> Page[EndpointOut]:
    with ctx.database.read() as conn:
        return paginate(
            conn,
            store.endpoint_list_query(ctx.tenant),
            store.ep.id,
            kind="webhook_endpoint",
            limit=limit,
            max_limit=ctx.settings.max_page_limit,
            starting_after=starting_after,
            render=_endpoint_from_row,
        )


@router.get("/endpoints/{endpoint_id}", response_model=EndpointOut)
def get_endpoint(endpoint_id: str, ctx: ReadCtx) -> EndpointOut:
    with ctx.database.read() as conn:
        return service.render_endpoint(service.get_endpoint(conn, ctx.tenant, endpoint_id))


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointOut)
def update_endpoint(endpoint_id: str, body: EndpointUpdate, ctx: WriteCtx) -> EndpointOut:
    with fields_in("body"), ctx.database.write() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_id)
        updated = service.update_endpoint(
            conn,
            ctx.tenant,
            endpoint,
            body,
            ctx.clock.now(),
            allow_private=ctx.settings.webhook_allow_private,
        )
        return service.render_endpoint(updated)


@router.delete("/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, ctx: WriteCtx) -> Response:
    with ctx.database.write() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_id)
        service.delete_endpoint(conn, ctx.tenant, endpoint, ctx.clock.now())
    return Response(status_code=204)


@router.post("/endpoints/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret)
def rotate_secret(
    endpoint_id: str, ctx: WriteCtx, body: RotateSecretIn | None = None
) -> EndpointWithSecret:
    """A new secret. During the grace period every delivery carries two signatures."""
    grace_s = (body or RotateSecretIn()).grace_period_seconds
    with fields_in("body"), ctx.database.write() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_id)
        rotated = service.rotate_secret(conn, ctx.tenant, endpoint, grace_s, ctx.clock.now())
        return service.render_with_secret(rotated)


def _set_enabled(endpoint_id: str, ctx: WriteCtx, enabled: bool) -> EndpointOut:
    with ctx.database.write() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_id)
        changed = service.set_enabled(conn, ctx.tenant, endpoint, enabled, ctx.clock.now())
        return service.render_endpoint(changed)


@router.post("/endpoints/{endpoint_id}/enable", response_model=EndpointOut)
def enable_endpoint(endpoint_id: str, ctx: WriteCtx) -> EndpointOut:
    """Enable; resets the failure counter. Deliveries left pending resume."""
    return _set_enabled(endpoint_id, ctx, True)


@router.post("/endpoints/{endpoint_id}/disable", response_model=EndpointOut)
def disable_endpoint(endpoint_id: str, ctx: WriteCtx) -> EndpointOut:
    return _set_enabled(endpoint_id, ctx, False)


@router.post("/endpoints/{endpoint_id}/test", status_code=202, response_model=WebhookEventOut)
def test_endpoint(endpoint_id: str, ctx: WriteCtx) -> WebhookEventOut:
    """Send a ``webhook.test`` event to this endpoint."""
    with ctx.database.write() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_id)
        return service.render_event(service.send_test(conn, ctx.tenant, endpoint, ctx.clock.now()))


@router.post("/endpoints/{endpoint_id}/replay", status_code=202, response_model=ReplayOut)
def replay(endpoint_id: str, body: ReplayIn, ctx: WriteCtx) -> ReplayOut:
    """Send the events of a time range again (by default only those that failed)."""
    now = ctx.clock.now()
    with fields_in("body"), ctx.database.write() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_id)
        window = (body.since, body.until)
        count = service.replay(conn, ctx.tenant, endpoint, window, body.only_failed, now)
    return ReplayOut(endpoint_id=render_id("webhook_endpoint", endpoint.id), scheduled=count)


@router.get("/events", response_model=Page[WebhookEventOut])
def list_events(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[QueryInstant | None, Query()] = None,
    until: Annotated[QueryInstant | None, Query()] = None,
) -> Page[WebhookEventOut]:
    """The event log, newest first."""
    with ctx.database.read() as conn:
        return paginate(
            conn,
            store.event_list_query(ctx.tenant, type, since, until),
            store.ev.id,
            kind="webhook_event",
            limit=limit,
            max_limit=ctx.settings.max_page_limit,
            starting_after=starting_after,
            render=service.render_event,
        )


@router.get("/events/{event_id}", response_model=WebhookEventOut)
def get_event(event_id: str, ctx: ReadCtx) -> WebhookEventOut:
    with ctx.database.read() as conn:
        return service.render_event(service.get_event(conn, ctx.tenant, event_id))


@router.post("/events/{event_id}/redeliver", status_code=202, response_model=RedeliverOut)
def redeliver(
    event_id: str, ctx: WriteCtx, endpoint_id: Annotated[str | None, Query()] = None
) -> RedeliverOut:
    """Send an event again: same ``webhook-id``, new timestamp and signature."""
    now: datetime = ctx.clock.now()
    with ctx.database.write() as conn:
        event = service.get_event(conn, ctx.tenant, event_id)
        endpoint = None
        if endpoint_id is not None:
            endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_id)
        count = service.redeliver(conn, ctx.tenant, event, endpoint, now)
    return RedeliverOut(event_id=render_id("webhook_event", event.id), scheduled=count)


def _optional_id(kind: str, ref: str | None, name: str) -> Any:
    if ref is None:
        return None
    parsed = parse_id(kind, ref)
    if parsed is None:
        raise request_field(["query", name], f"is not a valid {kind} id")
    return parsed


@router.get("/deliveries", response_model=Page[AttemptOut])
def list_deliveries(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    endpoint_id: Annotated[str | None, Query()] = None,
    event_id: Annotated[str | None, Query()] = None,
    succeeded: Annotated[bool | None, Query()] = None,
    http_code_class: Annotated[int | None, Query(ge=1, le=5, description="2 for 2xx")] = None,
) -> Page[AttemptOut]:
    """Delivery attempts, newest first: status, latency and the start of each response."""
    query = store.attempt_list_query(
        ctx.tenant,
        _optional_id("webhook_endpoint", endpoint_id, "endpoint_id"),
        _optional_id("webhook_event", event_id, "event_id"),
        succeeded,
        http_code_class,
    )
    with ctx.database.read() as conn:
        return paginate(
            conn,
            query,
            store.at.id,
            kind="webhook_attempt",
            limit=limit,
            max_limit=ctx.settings.max_page_limit,
            starting_after=starting_after,
            render=service.render_attempt,
        )
