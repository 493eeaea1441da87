"""Polar's webhook endpoints API (``/polar/v1/webhooks/endpoints``) over drawdown.webhooks.

Endpoints made here subscribe with Polar's event names (the ones drawdown emits:
``customer.created|updated|deleted``), receive Polar's Customer shape, and are signed twice:
the Standard Webhooks derivation and Polar's (the secret string's own bytes as the HMAC
key), so ``polar_sdk.webhooks.validate_event`` verifies them as well as any Standard
Webhooks library."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from drawdown.dialects.polar.errors import PolarRoute
from drawdown.dialects.polar.pagination import (
    MAX_LIMIT,
    ListResource,
    PageParam,
    PerPageParam,
    resource,
)
from drawdown.dialects.polar.translate import customer_out, modified_at, polar_id
from drawdown.http.deps import ReadCtx, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.paging import Numbered
from drawdown.records import CustomerRecord
from drawdown.schemas import Timestamp
from drawdown.webhooks import service
from drawdown.webhooks.records import Endpoint, StoredEvent
from drawdown.webhooks.render import register_renderer
from drawdown.webhooks.schemas import EndpointCreate, EndpointUpdate
from drawdown.webhooks.signing import render_body

__all__ = ["POLAR_EVENT_TYPES", "router"]

router = APIRouter(prefix="/polar/v1/webhooks", tags=["polar"], route_class=PolarRoute)

FLAVOR = "polar"
POLAR_EVENT_TYPES = ("customer.created", "customer.updated", "customer.deleted")
PolarEvent = Literal["customer.created", "customer.updated", "customer.deleted"]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1, max_length=2048)
    format: Literal["raw"] = "raw"
    events: list[PolarEvent] = Field(min_length=1)
    name: str | None = Field(default=None, max_length=255)
    organization_id: str | None = None


class WebhookEndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    format: Literal["raw"] | None = None
    events: list[PolarEvent] | None = None
    name: str | None = Field(default=None, max_length=255)
    enabled: bool | None = None


class WebhookEndpointOut(BaseModel):
    created_at: Timestamp
    modified_at: Timestamp | None
    id: str
    url: str
    name: str | None
    format: Literal["raw"] = "raw"
    secret: str
    organization_id: str
    events: list[str]
    enabled: bool


def _out(endpoint: Endpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        created_at=endpoint.created_at,
        modified_at=modified_at(endpoint.created_at, endpoint.updated_at),
        id=polar_id(endpoint.id),
        url=endpoint.url,
        name=endpoint.description or None,
        secret=endpoint.secret,
        organization_id=polar_id(endpoint.organization_id),
        events=endpoint.event_types,
        enabled=endpoint.enabled,
    )


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _endpoint(conn: Any, ctx: ReadCtx, id: str) -> Endpoint:
    return service.get_endpoint_of(conn, ctx.tenant, _uuid(id), FLAVOR)


@router.post("/endpoints", status_code=201, response_model=WebhookEndpointOut)
def create_webhook_endpoint(body: WebhookEndpointCreate, ctx: WriteCtx) -> WebhookEndpointOut:
    native = EndpointCreate(
        url=body.url, event_types=list(body.events), description=body.name or ""
    )
    with fields_in("body"), ctx.database.write() as conn:
        endpoint = service.create_endpoint(
            conn,
            ctx.tenant,
            native,
            ctx.clock.now(),
            allow_private=ctx.settings.webhook_allow_private,
            flavor=FLAVOR,
        )
        return _out(endpoint)


@router.get("/endpoints", response_model=ListResource[WebhookEndpointOut])
def list_webhook_endpoints(
    ctx: ReadCtx, page: PageParam = 1, limit: PerPageParam = 10
) -> ListResource[WebhookEndpointOut]:
    with ctx.database.read() as conn:
        found = service.list_endpoints(
            conn, ctx.tenant, FLAVOR, Numbered(page, min(limit, MAX_LIMIT))
        )
    return resource(found, _out, limit)


@router.get("/endpoints/{id}", response_model=WebhookEndpointOut)
def get_webhook_endpoint(id: str, ctx: ReadCtx) -> WebhookEndpointOut:
    with ctx.database.read() as conn:
        return _out(_endpoint(conn, ctx, id))


@router.patch("/endpoints/{id}", response_model=WebhookEndpointOut)
def update_webhook_endpoint(
    id: str, body: WebhookEndpointUpdate, ctx: WriteCtx
) -> WebhookEndpointOut:
    sent = body.model_fields_set
    changes: dict[str, Any] = {}
    if "url" in sent and body.url is not None:
        changes["url"] = body.url
    if "events" in sent and body.events is not None:
        changes["event_types"] = list(body.events)
    if "name" in sent:
        changes["description"] = body.name or ""
    if "enabled" in sent and body.enabled is not None:
        changes["enabled"] = body.enabled
    with fields_in("body"), ctx.database.write() as conn:
        endpoint = _endpoint(conn, ctx, id)
        updated = service.update_endpoint(
            conn,
            ctx.tenant,
            endpoint,
            EndpointUpdate(**changes),
            ctx.clock.now(),
            allow_private=ctx.settings.webhook_allow_private,
        )
        return _out(updated)


@router.delete("/endpoints/{id}", status_code=204)
def delete_webhook_endpoint(id: str, ctx: WriteCtx) -> Response:
    with ctx.database.write() as conn:
        service.delete_endpoint(conn, ctx.tenant, _endpoint(conn, ctx, id), ctx.clock.now())
    return Response(status_code=204)


@router.patch("/endpoints/{id}/secret", response_model=WebhookEndpointOut)
def reset_webhook_endpoint_secret(id: str, ctx: WriteCtx) -> WebhookEndpointOut:
    """A new secret at once (Polar keeps no grace period)."""
    with ctx.database.write() as conn:
        endpoint = _endpoint(conn, ctx, id)
        return _out(service.rotate_secret(conn, ctx.tenant, endpoint, 0, ctx.clock.now()))


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _polar_customer(event: StoredEvent) -> dict[str, Any]:
    data = event.data
    row = CustomerRecord(
        id=uuid.UUID(data["id"].split("_", 1)[1]),
        mode=event.mode,  # type: ignore[arg-type]
        created_at=_when(data["created_at"]),
        updated_at=_when(data["updated_at"]),
        metadata_=data["metadata"],
        external_id=data["external_id"],
        email=data["email"],
        name=data["name"],
        organization_id=event.organization_id,
        deleted_at=event.occurred_at if event.type == "customer.deleted" else None,
    )
    return customer_out(row).model_dump(mode="json")


def render_polar(message_id: str, event: StoredEvent) -> str:
    """Polar's payloads for the types Polar has; drawdown's envelope for the others."""
    data = _polar_customer(event) if event.type in POLAR_EVENT_TYPES else event.data
    return render_body(message_id, event.type, event.occurred_at, data)


register_renderer(FLAVOR, render_polar)
