"""HTTP routes of balance alerts: per customer (by id or external id) and organization-wide
defaults."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import Connection

from drawdown.alerts import service, store
from drawdown.alerts.schemas import AlertCreate, AlertOut, AlertUpdate
from drawdown.customers import service as customers
from drawdown.http.deps import ReadCtx, RequestContext, WriteCtx
from drawdown.http.fields import fields_in
from drawdown.http.pagination import (
    DEFAULT_LIMIT,
    LimitParam,
    Page,
    StartingAfterParam,
    paginate,
)

__all__ = ["router"]

router = APIRouter(tags=["alerts"])


def _page(
    ctx: RequestContext,
    conn: Connection,
    query: Any,
    customer_id: uuid.UUID | None,
    limit: int,
    starting_after: str | None,
) -> Page[AlertOut]:
    return paginate(
        conn,
        query,
        store.al.id,
        kind="balance_alert",
        limit=limit,
        max_limit=ctx.settings.max_page_limit,
        starting_after=starting_after,
        render=lambda row: service.render(conn, ctx.tenant, store.to_alert(row), customer_id),
    )


def _create_for(
    ctx: RequestContext, conn: Connection, customer: Any, body: AlertCreate
) -> AlertOut:
    alert = service.create_alert(conn, ctx.tenant, customer.id, body, ctx.clock.now())
    return service.render(conn, ctx.tenant, alert, customer.id)


@router.post("/v1/customers/{customer_id}/alerts", status_code=201, response_model=AlertOut)
def create_customer_alert(customer_id: str, body: AlertCreate, ctx: WriteCtx) -> AlertOut:
    with fields_in("body"), ctx.database.write() as conn:
        customer = customers.get_customer(conn, ctx.tenant, customer_id)
        return _create_for(ctx, conn, customer, body)


@router.post(
    "/v1/customers/external/{external_id}/alerts", status_code=201, response_model=AlertOut
)
def create_customer_alert_by_external_id(
    external_id: str, body: AlertCreate, ctx: WriteCtx
) -> AlertOut:
    with fields_in("body"), ctx.database.write() as conn:
        customer = customers.get_customer_by_external_id(conn, ctx.tenant, external_id)
        return _create_for(ctx, conn, customer, body)


@router.get("/v1/customers/{customer_id}/alerts", response_model=Page[AlertOut])
def list_customer_alerts(
    customer_id: str,
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
) -> Page[AlertOut]:
    """The customer's alerts and the organization's defaults, with this customer's state."""
    with ctx.database.read() as conn:
        customer = customers.get_customer(conn, ctx.tenant, customer_id)
        query = store.alert_list_query(ctx.tenant, customer.id)
        return _page(ctx, conn, query, customer.id, limit, starting_after)


@router.get("/v1/customers/external/{external_id}/alerts", response_model=Page[AlertOut])
def list_customer_alerts_by_external_id(
    external_id: str,
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
) -> Page[AlertOut]:
    with ctx.database.read() as conn:
        customer = customers.get_customer_by_external_id(conn, ctx.tenant, external_id)
        query = store.alert_list_query(ctx.tenant, customer.id)
        return _page(ctx, conn, query, customer.id, limit, starting_after)


@router.post("/v1/alerts", status_code=201, response_model=AlertOut)
def create_default_alert(body: AlertCreate, ctx: WriteCtx) -> AlertOut:
    """An organization-wide default: applies to every customer of the currency."""
    with fields_in("body"), ctx.database.write() as conn:
        alert = service.create_alert(conn, ctx.tenant, None, body, ctx.clock.now())
        return service.render(conn, ctx.tenant, alert)


@router.get("/v1/alerts", response_model=Page[AlertOut])
def list_alerts(
    ctx: ReadCtx,
    limit: LimitParam = DEFAULT_LIMIT,
    starting_after: StartingAfterParam = None,
    defaults_only: Annotated[bool, Query(description="Only organization-wide ones")] = False,
) -> Page[AlertOut]:
    with ctx.database.read() as conn:
        query = store.alert_list_query(ctx.tenant, None, defaults_only)
        return _page(ctx, conn, query, None, limit, starting_after)


@router.get("/v1/alerts/{alert_id}", response_model=AlertOut)
def get_alert(
    alert_id: str,
    ctx: ReadCtx,
    customer_id: Annotated[str | None, Query(description="Show this customer's state")] = None,
) -> AlertOut:
    with ctx.database.read() as conn:
        alert = service.get_alert(conn, ctx.tenant, alert_id)
        customer = None
        if customer_id is not None:
            customer = customers.get_customer(conn, ctx.tenant, customer_id).id
        elif alert.customer_id is not None:
            customer = alert.customer_id
        return service.render(conn, ctx.tenant, alert, customer)


@router.patch("/v1/alerts/{alert_id}", response_model=AlertOut)
def update_alert(alert_id: str, body: AlertUpdate, ctx: WriteCtx) -> AlertOut:
    with fields_in("body"), ctx.database.write() as conn:
        alert = service.get_alert(conn, ctx.tenant, alert_id)
        updated = service.update_alert(conn, ctx.tenant, alert, body, ctx.clock.now())
        return service.render(conn, ctx.tenant, updated, updated.customer_id)


@router.delete("/v1/alerts/{alert_id}", status_code=204)
def delete_alert(alert_id: str, ctx: WriteCtx) -> Response:
    with ctx.database.write() as conn:
        service.delete_alert(conn, ctx.tenant, service.get_alert(conn, ctx.tenant, alert_id))
    return Response(status_code=204)


def _set_enabled(alert_id: str, ctx: RequestContext, enabled: bool) -> AlertOut:
    with ctx.database.write() as conn:
        alert = service.get_alert(conn, ctx.tenant, alert_id)
        updated = service.update_alert(
            conn, ctx.tenant, alert, AlertUpdate(enabled=enabled), ctx.clock.now()
        )
        return service.render(conn, ctx.tenant, updated, updated.customer_id)


@router.post("/v1/alerts/{alert_id}/enable", response_model=AlertOut)
def enable_alert(alert_id: str, ctx: WriteCtx) -> AlertOut:
    return _set_enabled(alert_id, ctx, True)


@router.post("/v1/alerts/{alert_id}/disable", response_model=AlertOut)
def disable_alert(alert_id: str, ctx: WriteCtx) -> AlertOut:
    """A disabled alert is not evaluated; enabling it again seeds its states afresh on the
    next move, without firing."""
    return _set_enabled(alert_id, ctx, False)
