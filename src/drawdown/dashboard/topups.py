"""A customer's top-ups on the dashboard (loaded into the customer page), and Confirm or
Fail of a pending one for write keys: the API's services and Idempotency-Key handling, so
a double click settles once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from drawdown.dashboard.context import Dash, FormBody
from drawdown.dashboard.customers import currency_symbols, customer_or_404
from drawdown.dashboard.templating import DashRoute, fragment
from drawdown.errors import field
from drawdown.http.idempotency import run_create
from drawdown.http.pagination import cursor, page_of
from drawdown.topups import service
from drawdown.topups.schemas import TopupConfirm

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", route_class=DashRoute, include_in_schema=False)

PAGE_SIZE = 25


@router.get("/customers/{customer_ref}/topups")
def customer_topups(ctx: Dash, customer_ref: str) -> HTMLResponse:
    """The customer's newest top-ups, as a fragment of its page."""
    now = ctx.clock.now()
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
        asked = cursor("topup", PAGE_SIZE, None, PAGE_SIZE)
        found = service.list_topups(conn, ctx.tenant, customer.id, None, now, asked)
        symbols = currency_symbols(conn, ctx)
    shown = page_of(found, lambda row: service.render_topup(row, now))
    return fragment(
        ctx.request,
        ctx,
        "partials/customer_topups.html",
        customer=customer,
        topups=shown.data,
        symbols=symbols,
    )


@router.post("/topups/{topup_id}/confirm")
def confirm_topup(ctx: Dash, topup_id: str, form: FormBody) -> Response:
    ctx.check_csrf(form)
    ctx.require_write()
    api = ctx.api
    body = TopupConfirm(external_reference=form.optional("external_reference"))

    def confirm(conn: Any) -> Any:
        now = api.clock.now()
        row = service.confirm_topup(
            conn, api.tenant, topup_id, body, now, api.settings.expiry_grace
        )
        return service.render_topup(row, now)

    route = f"POST /v1/topups/{topup_id}/confirm"
    run_create(api, form.optional("idempotency_key"), route, body, confirm, status_code=200)
    return Response(status_code=200, headers={"HX-Refresh": "true"})


@router.post("/topups/{topup_id}/fail")
def fail_topup(ctx: Dash, topup_id: str, form: FormBody) -> Response:
    ctx.check_csrf(form)
    ctx.require_write()
    api = ctx.api
    reason = form.optional("reason")
    if reason is None or len(reason) > 500:
        raise field(["body", "reason"], "say why the charge failed (1 to 500 characters)")

    def fail(conn: Any) -> Any:
        now = api.clock.now()
        row = service.fail_topup(conn, api.tenant, topup_id, reason, now, api.settings.expiry_grace)
        return service.render_topup(row, now)

    route = f"POST /v1/topups/{topup_id}/fail"
    run_create(api, form.optional("idempotency_key"), route, None, fail, status_code=200)
    return Response(status_code=200, headers={"HX-Refresh": "true"})
