"""Webhooks: endpoints with their state and last delivery, each endpoint's deliveries with a
Redeliver button (the API's redeliver service), and the balance alerts in alarm."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from drawdown.alerts import service as alerts
from drawdown.dashboard.context import Dash, FormBody
from drawdown.dashboard.templating import DashRoute, page
from drawdown.ids import render_id
from drawdown.webhooks import service
from drawdown.webhooks.records import Attempt

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/webhooks", route_class=DashRoute, include_in_schema=False)

DELIVERIES_SHOWN = 100
ALARMS_SHOWN = 50
EXCERPT_CHARS = 300


def attempt_view(attempt: Attempt | None) -> dict[str, Any] | None:
    """What a table cell says about an attempt: outcome, code, latency, response excerpt."""
    if attempt is None:
        return None
    answer = attempt.error if attempt.http_code is None else (attempt.response or "")
    return {
        "succeeded": attempt.succeeded,
        "label": str(attempt.http_code) if attempt.http_code is not None else "no answer",
        "latency_ms": f"{attempt.latency_us / 1000:.1f}",
        "excerpt": (answer or "")[:EXCERPT_CHARS],
        "at": attempt.created_at,
    }


@router.get("")
def webhooks_page(ctx: Dash) -> HTMLResponse:
    now = ctx.clock.now()
    with ctx.database.read() as conn:
        endpoints = service.endpoints_overview(conn, ctx.tenant)
        in_alarm = alerts.alarms(conn, ctx.tenant, ALARMS_SHOWN)
    listed = [
        {
            "id": render_id("webhook_endpoint", endpoint.id),
            "url": endpoint.url,
            "types": endpoint.event_types,
            "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason,
            "throttled_until": endpoint.throttled_until if endpoint.throttled_at(now) else None,
            "last": attempt_view(last),
        }
        for endpoint, last in endpoints
    ]
    alarms = [
        {
            "alert_id": render_id("balance_alert", row.alert_id),
            "alert_name": row.alert_name,
            "customer_id": render_id("customer", row.customer_id),
            "external_id": row.external_id,
            "codes": row.codes,
            "since": row.since,
        }
        for row in in_alarm
    ]
    return page(ctx.request, ctx, "webhooks.html", nav="webhooks", endpoints=listed, alarms=alarms)


@router.get("/{endpoint_ref}")
def endpoint_page(ctx: Dash, endpoint_ref: str, redelivered: str | None = None) -> HTMLResponse:
    with ctx.database.read() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_ref)
        deliveries = service.endpoint_deliveries(conn, ctx.tenant, endpoint, DELIVERIES_SHOWN)
    rows = [
        {
            "event_id": render_id("webhook_event", d.event_id),
            "type": d.event_type,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
            "created_at": d.created_at,
            "last": attempt_view(d.last),
        }
        for d in deliveries
    ]
    return page(
        ctx.request,
        ctx,
        "webhook.html",
        nav="webhooks",
        endpoint=service.render_endpoint(endpoint),
        throttled_until=endpoint.throttled_until
        if endpoint.throttled_at(ctx.clock.now())
        else None,
        deliveries=rows,
        redelivered=redelivered,
    )


@router.post("/{endpoint_ref}/redeliver")
def redeliver(ctx: Dash, endpoint_ref: str, form: FormBody) -> Response:
    """Redeliver: the API's ``POST /v1/webhooks/events/{id}/redeliver?endpoint_id=`` (same
    ``webhook-id``, new timestamp and signature), for write keys only."""
    ctx.check_csrf(form)
    ctx.require_write()
    with ctx.database.write() as conn:
        endpoint = service.get_endpoint(conn, ctx.tenant, endpoint_ref)
        event = service.get_event(conn, ctx.tenant, form.get("event_id"))
        service.redeliver(conn, ctx.tenant, event, endpoint, ctx.clock.now())
    target = render_id("webhook_endpoint", endpoint.id)
    event_ref = render_id("webhook_event", event.id)
    return RedirectResponse(f"/dashboard/webhooks/{target}?redelivered={event_ref}", 303)
