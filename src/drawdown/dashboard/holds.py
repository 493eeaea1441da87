"""Holds from the dashboard: Release, through the API's service and Idempotency-Key handling
(a double click releases once; a hold that resolved meanwhile answers the API's 409)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from drawdown.credits import holds
from drawdown.credits.schemas import HoldRelease
from drawdown.dashboard.context import Dash, FormBody
from drawdown.dashboard.templating import DashRoute
from drawdown.http.idempotency import run_create

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", route_class=DashRoute, include_in_schema=False)


@router.post("/holds/{hold_id}/release")
def release_hold(ctx: Dash, hold_id: str, form: FormBody) -> Response:
    ctx.check_csrf(form)
    ctx.require_write()
    api = ctx.api
    body = HoldRelease(reason=form.optional("reason"))

    def release(conn: Any) -> Any:
        now = api.clock.now()
        row, available = holds.release_hold(
            conn, api.tenant, hold_id, body.reason, now, api.settings.expiry_grace
        )
        return holds.render_hold(row, now, available)

    route = f"POST /v1/holds/{hold_id}/release"
    run_create(api, form.optional("idempotency_key"), route, body, release, status_code=200)
    return Response(status_code=200, headers={"HX-Refresh": "true"})
