"""A customer's credits from the dashboard: Grant credits, Void, the ledger as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from drawdown.credits import reports
from drawdown.credits import service as credits
from drawdown.credits.schemas import GrantCreate
from drawdown.currencies import service as currencies
from drawdown.dashboard.context import Dash, DashCtx, Form, FormBody
from drawdown.dashboard.customers import customer_or_404
from drawdown.dashboard.forms import attempt, build
from drawdown.dashboard.templating import DashRoute, fragment
from drawdown.db.engine import Database
from drawdown.http.idempotency import run_create
from drawdown.ids import render_id
from drawdown.tenancy import Tenant

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", route_class=DashRoute, include_in_schema=False)

GRANT_FIELDS = (
    "currency_id",
    "amount",
    "category",
    "priority",
    "effective_at",
    "expires_at",
    "name",
    "idempotency_key",
)
CSV_PAGE = 1000


def _grant_form(
    ctx: DashCtx, customer: Any, values: dict[str, str], errors: dict[str, str]
) -> HTMLResponse:
    with ctx.database.read() as conn:
        choices = currencies.list_currencies(conn, ctx.tenant)
    return fragment(
        ctx.request,
        ctx,
        "partials/grant_form.html",
        customer=customer,
        currencies=[(render_id("currency", c.id), c) for c in choices],
        values=values,
        errors=errors,
        idempotency_key=values.get("idempotency_key") or str(uuid.uuid4()),
    )


@router.get("/customers/{customer_ref}/grants/new")
def new_grant(ctx: Dash, customer_ref: str) -> HTMLResponse:
    ctx.require_write()
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
    return _grant_form(ctx, customer, {"category": "paid", "priority": "50"}, {})


def _utc(local: str | None) -> str | None:
    """A datetime-local input (the form says UTC) as RFC 3339."""
    if local is None:
        return None
    return local + (":00" if len(local) == 16 else "") + "+00:00"


def _grant_data(form: Form, customer_id: str) -> dict[str, object]:
    data: dict[str, object] = {"customer_id": customer_id, "category": form.get("category")}
    for name in ("currency_id", "amount", "name"):
        if form.optional(name) is not None:
            data[name] = form.optional(name)
    if form.optional("priority") is not None:
        data["priority"] = form.optional("priority")
    for name in ("effective_at", "expires_at"):
        if form.optional(name) is not None:
            data[name] = _utc(form.optional(name))
    return data


@router.post("/customers/{customer_ref}/grants")
def create_grant(ctx: Dash, customer_ref: str, form: FormBody) -> Response:
    ctx.check_csrf(form)
    ctx.require_write()
    values = {name: form.get(name) for name in GRANT_FIELDS}
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
    body, errors = build(GrantCreate, _grant_data(form, render_id("customer", customer.id)))
    if body is None:
        return _grant_form(ctx, customer, values, errors)
    api = ctx.api
    made, errors = attempt(
        lambda: run_create(
            api,
            form.optional("idempotency_key"),
            "POST /v1/credit-grants",
            body,
            lambda conn: credits.render_grant(
                credits.create_grant(conn, api.tenant, body, api.clock.now())
            ),
        )
    )
    if made is None:
        return _grant_form(ctx, customer, values, errors)
    return Response(status_code=200, headers={"HX-Refresh": "true"})


@router.post("/grants/{grant_id}/void")
def void_grant(ctx: Dash, grant_id: str, form: FormBody) -> Response:
    """Void: the API's service and Idempotency-Key handling (a double click voids once)."""
    ctx.check_csrf(form)
    ctx.require_write()
    api = ctx.api

    def void(conn: Any) -> Any:
        return credits.render_grant(credits.void_grant(conn, api.tenant, grant_id, api.clock.now()))

    route = f"POST /v1/credit-grants/{grant_id}/void"
    run_create(api, form.optional("idempotency_key"), route, None, void, status_code=200)
    return Response(status_code=200, headers={"HX-Refresh": "true"})


def _csv_rows(
    database: Database, tenant: Tenant, customer_id: uuid.UUID, symbols: dict[str, str]
) -> Iterator[str]:
    """The whole ledger, newest first, a page per read transaction."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["id", "sequence", "created_at", "type", "amount", "balance_after", "currency"]
    writer.writerow([*columns, "grant_id", "event_id"])
    cursor: str | None = None
    while True:
        with database.read() as conn:
            found = reports.ledger_page(
                conn, tenant, customer_id, limit=CSV_PAGE, starting_after=cursor
            )
        for entry in found.data:
            writer.writerow(
                [
                    entry.id,
                    entry.sequence,
                    entry.created_at.isoformat(),
                    entry.type,
                    entry.amount,
                    entry.balance_after,
                    symbols.get(entry.currency_id, entry.currency_id),
                    entry.grant_id or "",
                    entry.event_id or "",
                ]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if not found.has_more or not found.data:
            return
        cursor = found.data[-1].id


@router.get("/customers/{customer_ref}/ledger.csv")
def ledger_csv(ctx: Dash, customer_ref: str) -> StreamingResponse:
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
        rows = currencies.list_currencies(conn, ctx.tenant)
    symbols = {render_id("currency", row.id): row.symbol for row in rows}
    name = f"ledger-{render_id('customer', customer.id)}.csv"
    return StreamingResponse(
        _csv_rows(ctx.database, ctx.tenant, customer.id, symbols),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
