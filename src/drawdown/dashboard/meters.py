"""Meters (Products > Meters): list, Create Meter, detail, activate/deactivate."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Connection

from drawdown.credits import reports
from drawdown.currencies import service as currencies
from drawdown.customers import service as customer_service
from drawdown.dashboard.context import Dash, DashCtx, Form, FormBody
from drawdown.dashboard.data import EVER, meter_totals
from drawdown.dashboard.forms import FormErrors, attempt, build
from drawdown.dashboard.templating import DashRoute, fragment, page
from drawdown.events import explore, usage
from drawdown.events import service as events
from drawdown.http.idempotency import run_create
from drawdown.http.pagination import cursor, page_of
from drawdown.ids import parse_id, render_id
from drawdown.meters import service, store
from drawdown.meters.schemas import MeterCreate
from drawdown.money import format_units

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/meters", route_class=DashRoute, include_in_schema=False)

FUNCS = ("sum", "count", "max", "min", "avg", "unique", "latest")
OPERATORS = (
    ("eq", "equals"),
    ("ne", "not equals"),
    ("gt", ">"),
    ("gte", ">="),
    ("lt", "<"),
    ("lte", "<="),
    ("like", "contains"),
    ("not_like", "does not contain"),
)
NAME_CLAUSE_HELP = "add the clause: name equals <the event name this meter counts>"
ALIASES = {
    "aggregation.property": "aggregation_property",
    "aggregation": "aggregation_property",
    "filter": "filter",
    "event_name": "filter",
    "currency_id": "currency_id",
}
TOP_CUSTOMERS = 50
_INT = re.compile(r"-?\d{1,16}")


@router.get("")
def list_meters(ctx: Dash, starting_after: str | None = None) -> HTMLResponse:
    with ctx.database.read() as conn:
        page_asked = cursor("meter", 50, starting_after, 50)
        found = page_of(store.meters_page(conn, ctx.tenant, page_asked), service.render)
    return page(ctx.request, ctx, "meters.html", nav="meters", meters=found)


def _form_page(
    ctx: DashCtx, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> HTMLResponse:
    with ctx.database.read() as conn:
        choices = currencies.list_currencies(conn, ctx.tenant)
    return page(
        ctx.request,
        ctx,
        "meter_form.html",
        status=status,
        nav="meters",
        values=values,
        errors=errors,
        funcs=FUNCS,
        operators=OPERATORS,
        currencies=[(render_id("currency", c.id), c) for c in choices],
        idempotency_key=values.get("idempotency_key") or str(uuid.uuid4()),
    )


@router.get("/new")
def new_meter(ctx: Dash) -> HTMLResponse:
    ctx.require_write()
    blank = {"clauses": [("name", "eq", "")], "conjunction": "and", "aggregation_func": "sum"}
    return _form_page(ctx, {**blank, "rate": "1"}, {})


@router.get("/clause")
def clause_row(ctx: Dash) -> HTMLResponse:
    return fragment(
        ctx.request, ctx, "partials/clause_row.html", clause=("", "eq", ""), operators=OPERATORS
    )


def _typed(text: str) -> str | int | bool:
    """A filter value as typed: true/false, an integer, "quoted text", else text."""
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _meter_data(form: Form) -> tuple[dict[str, Any], FormErrors]:
    """The API's meter from the form: the clause ``name equals X`` gives the event name
    (as in Polar's meters), the other clauses the filter."""
    rows = [
        (p.strip(), o, v.strip())
        for p, o, v in zip(
            form.getlist("filter_property"),
            form.getlist("filter_operator"),
            form.getlist("filter_value"),
            strict=False,
        )
        if p.strip() or v.strip()
    ]
    conjunction = form.get("conjunction", "and")
    names = [v for p, o, v in rows if p == "name" and o == "eq"]
    rest = [
        {"property": p, "operator": o, "value": _typed(v)}
        for p, o, v in rows
        if (p, o) != ("name", "eq")
    ]
    if len(names) != 1 or not names[0] or (conjunction == "or" and len(rows) > 1):
        return {}, {"filter": NAME_CLAUSE_HELP + " (joined with and)"}
    data: dict[str, Any] = {
        "name": form.get("name"),
        "event_name": names[0].strip('"'),
        "aggregation": {"func": form.get("aggregation_func")},
        "unit": form.get("unit"),
        "rate": form.optional("rate") or "1",
    }
    if rest:
        data["filter"] = {"conjunction": "and", "clauses": rest}
    if form.optional("aggregation_property") and form.get("aggregation_func") != "count":
        data["aggregation"]["property"] = form.optional("aggregation_property")
    if form.optional("currency_id"):
        data["currency_id"] = form.optional("currency_id")
    return data, {}


def _form_values(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: form.get(name)
        for name in (
            "name",
            "conjunction",
            "aggregation_func",
            "aggregation_property",
            "unit",
            "rate",
            "currency_id",
            "idempotency_key",
        )
    }
    values["clauses"] = list(
        zip(
            form.getlist("filter_property"),
            form.getlist("filter_operator"),
            form.getlist("filter_value"),
            strict=False,
        )
    ) or [("name", "eq", "")]
    return values


@router.post("")
def create_meter(ctx: Dash, form: FormBody) -> Response:
    """Create Meter: the API's request model, service and Idempotency-Key handling."""
    ctx.check_csrf(form)
    ctx.require_write()
    values = _form_values(form)
    data, errors = _meter_data(form)
    body = None
    if not errors:
        body, errors = build(MeterCreate, data, ALIASES)
    if body is None:
        return _form_page(ctx, values, errors, status=422)
    api = ctx.api
    made, errors = attempt(
        lambda: run_create(
            api,
            form.optional("idempotency_key"),
            "POST /v1/meters",
            body,
            lambda conn: service.render(
                service.create_meter(conn, api.tenant, body, api.clock.now())
            ),
        ),
        ALIASES,
        conflicts={"event_name_taken": "filter"},
    )
    if not isinstance(made, Response):
        return _form_page(ctx, values, errors, status=422)
    with ctx.database.read() as conn:
        created = service.get_meter(conn, ctx.tenant, body.event_name)
    return RedirectResponse(f"/dashboard/meters/{render_id('meter', created.id)}", status_code=303)


def _label(customer: Any) -> str:
    if customer is None:
        return "(deleted customer)"
    return str(customer.name or customer.email or customer.external_id or "(no name)")


def _customers_table(conn: Connection, ctx: DashCtx, meter: Any) -> list[dict[str, Any]]:
    """Consumed (all time), credited and balance per customer with usage, top first."""
    q = usage.usage_query(ctx.tenant, meter, *EVER, "none", "UTC", None, "customer")
    groups = usage.report(conn, q).buckets
    ranked = sorted(groups, key=lambda b: Decimal(b.value or 0), reverse=True)[:TOP_CUSTOMERS]
    ids = [parse_id("customer", str(getattr(b, "group", ""))) for b in ranked]
    known = [cid for cid in ids if cid is not None]
    now = ctx.clock.now()
    balances = reports.balances_for_customers(conn, ctx.tenant, known, now)
    credited = reports.granted_totals(conn, ctx.tenant, meter.currency_id, known)
    names = customer_service.get_customers(conn, ctx.tenant, known)
    decimals = currencies.get_currency(
        conn, ctx.tenant, render_id("currency", meter.currency_id)
    ).decimals
    rows = []
    for bucket, cid in zip(ranked, ids, strict=True):
        balance = (
            next((b for b in balances.get(cid, []) if b.currency_id == meter.currency_id), None)
            if cid
            else None
        )
        rows.append(
            {
                "customer": str(getattr(bucket, "group", "")),
                "label": _label(names.get(cid)) if cid else "",
                "known": cid is not None,
                "consumed": bucket.value or "0",
                "credited": format_units(credited.get(cid, 0), decimals) if cid else "",
                "balance": format_units(balance.available - balance.debt, decimals)
                if balance
                else "",
            }
        )
    return rows


@router.get("/{meter_ref}")
def meter_detail(ctx: Dash, meter_ref: str) -> HTMLResponse:
    now = ctx.clock.now()
    with ctx.database.read() as conn:
        meter = service.get_meter(conn, ctx.tenant, meter_ref)
        totals = meter_totals(conn, ctx.tenant, meter, now)
        latest = explore.events_page(
            conn, ctx.tenant, explore.EventFilter(meter=meter), limit=10, starting_after=None
        )
        customers = _customers_table(conn, ctx, meter)
        currency = currencies.get_currency(
            conn, ctx.tenant, render_id("currency", meter.currency_id)
        )
    return page(
        ctx.request,
        ctx,
        "meter.html",
        nav="meters",
        meter=service.render(meter),
        totals=totals,
        latest=[events.render(row) for row in latest.data],
        customers=customers,
        currency=currency,
    )


def _set_status(ctx: DashCtx, meter_ref: str, status: str, form: Form) -> Response:
    ctx.check_csrf(form)
    ctx.require_write()
    with ctx.database.write() as conn:
        row = service.get_meter(conn, ctx.tenant, meter_ref)
        service.set_status(conn, ctx.tenant, row, status, ctx.clock.now())
    return RedirectResponse(f"/dashboard/meters/{render_id('meter', row.id)}", status_code=303)


@router.post("/{meter_ref}/activate")
def activate(ctx: Dash, meter_ref: str, form: FormBody) -> Response:
    return _set_status(ctx, meter_ref, "active", form)


@router.post("/{meter_ref}/deactivate")
def deactivate(ctx: Dash, meter_ref: str, form: FormBody) -> Response:
    return _set_status(ctx, meter_ref, "inactive", form)
