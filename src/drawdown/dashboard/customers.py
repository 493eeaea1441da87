"""Customers: list and search, Add Customer, detail (balances, active holds, grants, ledger,
usage)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from drawdown import flows
from drawdown.credits import holds, reports
from drawdown.currencies import service as currencies
from drawdown.customers import service, store
from drawdown.customers.schemas import CustomerCreate, CustomerUpdate
from drawdown.dashboard.context import Dash, DashCtx, Form, FormBody
from drawdown.dashboard.forms import FormErrors, attempt, build, metadata_field
from drawdown.dashboard.templating import DashRoute, fragment, is_htmx, page
from drawdown.http.idempotency import run_create
from drawdown.http.pagination import cursor, page_of
from drawdown.ids import render_id
from drawdown.meters import service as meters
from drawdown.meters import store as meter_store

__all__ = ["currency_symbols", "customer_or_404", "router"]

router = APIRouter(prefix="/dashboard/customers", route_class=DashRoute, include_in_schema=False)

PAGE_SIZE = 25
LEDGER_PAGE = 25
HOLDS_SHOWN = 50


def _customers_page(ctx: DashCtx, q: str | None, starting_after: str | None) -> dict[str, Any]:
    with ctx.database.read() as conn:
        asked = cursor("customer", PAGE_SIZE, starting_after, PAGE_SIZE)
        found = page_of(store.customers_page(conn, ctx.tenant, asked, q=q or None), lambda r: r)
        balances = reports.balances_for_customers(
            conn, ctx.tenant, [row.id for row in found.data], ctx.clock.now()
        )
    return {"customers": found.data, "has_more": found.has_more, "balances": balances, "q": q or ""}


@router.get("")
def list_customers(ctx: Dash, q: str | None = None, starting_after: str | None = None) -> Response:
    values = _customers_page(ctx, q, starting_after)
    if is_htmx(ctx.request) and ctx.request.headers.get("hx-target") == "customer-table":
        return fragment(ctx.request, ctx, "partials/customer_table.html", **values)
    return page(ctx.request, ctx, "customers.html", nav="customers", **values)


def _add_form(ctx: DashCtx, values: dict[str, str], errors: dict[str, str]) -> HTMLResponse:
    return fragment(
        ctx.request,
        ctx,
        "partials/customer_form.html",
        values=values,
        errors=errors,
        idempotency_key=values.get("idempotency_key") or str(uuid.uuid4()),
    )


@router.get("/new")
def new_customer(ctx: Dash) -> HTMLResponse:
    ctx.require_write()
    return _add_form(ctx, {}, {})


@router.post("")
def create_customer(ctx: Dash, form: FormBody) -> HTMLResponse:
    """Add Customer: the API's request model, service and Idempotency-Key handling."""
    ctx.check_csrf(form)
    ctx.require_write()
    values = {name: form.get(name) for name in ("email", "name", "external_id", "idempotency_key")}
    data = {name: form.optional(name) for name in ("email", "name", "external_id")}
    body, errors = build(CustomerCreate, {k: v for k, v in data.items() if v is not None})
    if body is not None and body.email is None:
        errors = {"email": "Email is required"}
    if body is None or errors:
        return _add_form(ctx, values, errors)
    api = ctx.api
    made, errors = attempt(
        lambda: run_create(
            api,
            form.optional("idempotency_key"),
            "POST /v1/customers",
            body,
            lambda conn: service.render(
                flows.create_customer(conn, api.tenant, body, api.clock.now())
            ),
        ),
        conflicts={"external_id_taken": "external_id"},
    )
    if not isinstance(made, Response):
        return _add_form(ctx, values, errors)
    created = json.loads(bytes(made.body))
    return fragment(ctx.request, ctx, "partials/customer_created.html", customer=created)


def currency_symbols(conn: Any, ctx: DashCtx) -> dict[str, str]:
    """Currency id (as the API renders it) to symbol, for amounts in tables."""
    rows = currencies.list_currencies(conn, ctx.tenant)
    return {render_id("currency", row.id): row.symbol for row in rows}


def customer_or_404(ctx: DashCtx, conn: Any, customer_ref: str) -> Any:
    return service.get_customer(conn, ctx.tenant, customer_ref)


@router.get("/{customer_ref}")
def customer_detail(ctx: Dash, customer_ref: str) -> HTMLResponse:
    now = ctx.clock.now()
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
        balances = reports.balances_for_customers(conn, ctx.tenant, [customer.id], now)
        grants = reports.customer_grants(conn, ctx.tenant, customer.id, now)
        ledger = reports.ledger_page(
            conn, ctx.tenant, customer.id, limit=LEDGER_PAGE, starting_after=None
        )
        meter_rows = meter_store.listed(conn, ctx.tenant, [], status=None)
        symbols = currency_symbols(conn, ctx)
        active = holds.holds_page(
            conn,
            ctx.tenant,
            customer.id,
            ["active"],
            now,
            cursor("hold", HOLDS_SHOWN, None, HOLDS_SHOWN),
        )
    return page(
        ctx.request,
        ctx,
        "customer.html",
        nav="customers",
        customer=customer,
        balances=balances[customer.id],
        grants=grants,
        ledger=ledger,
        meters=[meters.render(m) for m in meter_rows],
        symbols=symbols,
        holds=[holds.render_hold(row, now) for row in active.items],
        more_holds=active.has_more,
    )


@router.get("/{customer_ref}/ledger")
def ledger_fragment(ctx: Dash, customer_ref: str, starting_after: str | None = None) -> Response:
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
        ledger = reports.ledger_page(
            conn, ctx.tenant, customer.id, limit=LEDGER_PAGE, starting_after=starting_after
        )
        symbols = currency_symbols(conn, ctx)
    return fragment(
        ctx.request,
        ctx,
        "partials/ledger.html",
        customer=customer,
        ledger=ledger,
        newer=starting_after is not None,
        symbols=symbols,
    )


EDIT_FIELDS = ("email", "name", "external_id", "metadata")


def _edit_form(
    ctx: DashCtx, customer: Any, values: dict[str, str], errors: FormErrors
) -> HTMLResponse:
    return fragment(
        ctx.request,
        ctx,
        "partials/customer_edit.html",
        customer=customer,
        values=values,
        errors=errors,
    )


def _current_values(customer: Any) -> dict[str, str]:
    return {
        "email": customer.email or "",
        "name": customer.name or "",
        "external_id": customer.external_id or "",
        "metadata": json.dumps(customer.metadata_, indent=2, ensure_ascii=False),
    }


@router.get("/{customer_ref}/edit")
def edit_customer_form(ctx: Dash, customer_ref: str) -> HTMLResponse:
    ctx.require_write()
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
    return _edit_form(ctx, customer, _current_values(customer), {})


def _changes(form: Form, customer: Any) -> tuple[dict[str, object], FormErrors]:
    """The PATCH body: only the fields that differ from the stored customer (a blank text
    field clears it, as null does in the API)."""
    data: dict[str, object] = {}
    for name in ("email", "name", "external_id"):
        value = form.optional(name)
        if value != getattr(customer, name):
            data[name] = value
    metadata, error = metadata_field(form.get("metadata"))
    if error:
        return {}, {"metadata": error}
    if metadata != customer.metadata_:
        data["metadata"] = metadata
    return data, {}


@router.post("/{customer_ref}")
def update_customer(ctx: Dash, customer_ref: str, form: FormBody) -> Response:
    """Edit: the API's PATCH request model and service (external_id can be set once)."""
    ctx.check_csrf(form)
    ctx.require_write()
    values = {name: form.get(name) for name in EDIT_FIELDS}
    with ctx.database.read() as conn:
        customer = customer_or_404(ctx, conn, customer_ref)
    data, errors = _changes(form, customer)
    body, more = build(CustomerUpdate, data) if not errors else (None, errors)
    if body is None:
        return _edit_form(ctx, customer, values, more)

    def write() -> object:
        with ctx.database.write() as conn:
            row = customer_or_404(ctx, conn, customer_ref)
            return flows.update_customer(conn, ctx.tenant, row, body, ctx.clock.now())

    done, errors = attempt(write, conflicts={"external_id_taken": "external_id"})
    if done is None:
        return _edit_form(ctx, customer, values, errors)
    return Response(status_code=200, headers={"HX-Refresh": "true"})
