"""``/paymentkit/api/webhook-endpoints``: Payment Kit's endpoint shape over drawdown.webhooks.

Endpoints made here subscribe with Payment Kit's event names where it has them
(``customer.credit.low_balance``, ``customer.credit.insufficient``,
``customer.credit_grant.granted``, ``customer.credit_grant.depleted``; drawdown's own names
for the rest) and receive Payment Kit's Event shape (``data.object``, unix seconds)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from drawdown.dialects.paymentkit import render
from drawdown.dialects.paymentkit.routing import (
    PageParam,
    PageSizeParam,
    PaymentKitRoute,
    ReadPk,
    WritePk,
)
from drawdown.dialects.paymentkit.schemas import PkPage
from drawdown.paging import Numbered
from drawdown.schemas import Metadata
from drawdown.webhooks import service
from drawdown.webhooks.records import Endpoint
from drawdown.webhooks.render import native_type, paymentkit_type
from drawdown.webhooks.schemas import EndpointCreate, EndpointUpdate
from drawdown.webhooks.types import is_known_type

__all__ = ["router"]

router = APIRouter(prefix="/paymentkit/api/webhook-endpoints", route_class=PaymentKitRoute)

FLAVOR = "paymentkit"
Status = Literal["enabled", "disabled"]


def _native_types(names: list[str]) -> list[str]:
    native = [native_type(name) for name in names]
    unknown = [name for name, n in zip(names, native, strict=True) if not is_known_type(n)]
    if unknown:
        raise ValueError(f"unknown event types {unknown}")
    return native


class PkEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1, max_length=2048)
    enabled_events: list[str] = Field(min_length=1, max_length=40)
    description: str = Field(default="", max_length=500)
    status: Status = "enabled"
    metadata: Metadata = Field(default_factory=dict)

    _events = field_validator("enabled_events")(_native_types)


class PkEndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    enabled_events: list[str] | None = Field(default=None, min_length=1, max_length=40)
    description: str | None = Field(default=None, max_length=500)
    status: Status | None = None
    metadata: Metadata | None = None

    @field_validator("enabled_events")
    @classmethod
    def _events(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else _native_types(names)


class PkEndpoint(BaseModel):
    id: str
    url: str
    enabled_events: list[str]
    description: str
    status: Status
    api_version: str = "2023-09-05"
    metadata: dict[str, Any]
    livemode: bool
    # Returned by create only, as Stripe-style APIs do.
    secret: str | None = None
    created_at: int
    updated_at: int


def _out(endpoint: Endpoint, *, with_secret: bool = False) -> PkEndpoint:
    return PkEndpoint(
        id=endpoint.id.hex,
        url=endpoint.url,
        enabled_events=[paymentkit_type(t) for t in endpoint.event_types],
        description=endpoint.description,
        status="enabled" if endpoint.enabled else "disabled",
        metadata=endpoint.metadata,
        livemode=endpoint.mode == "live",
        secret=endpoint.secret if with_secret else None,
        created_at=int(endpoint.created_at.timestamp()),
        updated_at=int(endpoint.updated_at.timestamp()),
    )


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.removeprefix("whe_"))
    except ValueError:
        return None


@router.post("", response_model=PkEndpoint)
def create_webhook_endpoint(body: PkEndpointCreate, ctx: WritePk) -> PkEndpoint:
    native = EndpointCreate(
        url=body.url,
        event_types=body.enabled_events,
        description=body.description,
        enabled=body.status == "enabled",
        metadata=body.metadata,
    )
    with ctx.database.write() as conn:
        endpoint = service.create_endpoint(
            conn, ctx.tenant, native, ctx.clock.now(),
            allow_private=ctx.settings.webhook_allow_private, flavor=FLAVOR,
        )  # fmt: skip
        return _out(endpoint, with_secret=True)


@router.get("", response_model=PkPage)
def list_webhook_endpoints(
    ctx: ReadPk, page: PageParam = 1, page_size: PageSizeParam = 20
) -> PkPage:
    with ctx.database.read() as conn:
        found = service.list_endpoints(conn, ctx.tenant, FLAVOR, Numbered(page, page_size))
    return render.page([_out(e) for e in found.items], found.total or 0, page, page_size)


@router.get("/{id}", response_model=PkEndpoint)
def retrieve_webhook_endpoint(id: str, ctx: ReadPk) -> PkEndpoint:
    with ctx.database.read() as conn:
        return _out(service.get_endpoint_of(conn, ctx.tenant, _uuid(id), FLAVOR))


@router.put("/{id}", response_model=PkEndpoint)
def update_webhook_endpoint(id: str, body: PkEndpointUpdate, ctx: WritePk) -> PkEndpoint:
    changes: dict[str, Any] = {}
    for name, target in (("url", "url"), ("enabled_events", "event_types"),
                         ("description", "description"), ("metadata", "metadata")):  # fmt: skip
        if getattr(body, name) is not None:
            changes[target] = getattr(body, name)
    if body.status is not None:
        changes["enabled"] = body.status == "enabled"
    with ctx.database.write() as conn:
        endpoint = service.get_endpoint_of(conn, ctx.tenant, _uuid(id), FLAVOR)
        updated = service.update_endpoint(
            conn, ctx.tenant, endpoint, EndpointUpdate(**changes), ctx.clock.now(),
            allow_private=ctx.settings.webhook_allow_private,
        )  # fmt: skip
        return _out(updated)


@router.delete("/{id}", response_model=PkEndpoint)
def delete_webhook_endpoint(id: str, ctx: WritePk) -> PkEndpoint:
    with ctx.database.write() as conn:
        endpoint = service.get_endpoint_of(conn, ctx.tenant, _uuid(id), FLAVOR)
        service.delete_endpoint(conn, ctx.tenant, endpoint, ctx.clock.now())
        return _out(endpoint)
