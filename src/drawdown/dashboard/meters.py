"""Meters (Products > Meters): list, Create Meter, detail, activate/deactivate."""

from __future__ import annotations

import json
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
from drawdown.dashboard.forms import FormErrors, attempt, build, metadata_field
from drawdown.dashboard.templating import DashRoute, fragment, page
from drawdown.events import explore, usage
from drawdown.events import service as events
from drawdown.http.idempotency import run_create
from drawdown.http.pagination import cursor, page_of
from drawdown.ids import parse_id, render_id
from drawdown.meters import service, store
from drawdown.meters.schemas import MeterCreate, MeterUpdate
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
    ctx: DashCtx,
    values: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    editing: Any = None,
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
        editing=editing,
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


def _clause_rows(form: Form) -> list[tuple[str, str, str]]:
    return [
        (p.strip(), o, v.strip())
        for p, o, v in zip(
            form.getlist("filter_property"),
            form.getlist("filter_operator"),
            form.getlist("filter_value"),
            strict=False,
        )
        if p.strip() or v.strip()
    ]


def _meter_data(form: Form) -> tuple[dict[str, Any], FormErrors]:
    """The API's meter from the form: the clause ``name equals X`` gives the event name
    (as in Polar's meters), the other clauses the filter."""
    rows = _clause_rows(form)
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


def _as_typed_text(value: Any) -> str:
    """A filter value as the form shows it, so that :func:`_typed` reads it back the same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return f'"{text}"' if _typed(text) != text else text


def _flat_filter(meter_filter: dict[str, Any] | None) -> bool:
    """Whether the form's one level of clauses can show the filter (no nested groups)."""
    if meter_filter is None:
        return True
    return all("property" in clause for clause in meter_filter.get("clauses", []))


def _edit_values(row: Any) -> dict[str, Any]:
    meter_filter = row.filter or {}
    return {
        "name": row.name,
        "description": row.description,
        "unit": row.unit,
        "rate": row.rate,
        "metadata": json.dumps(row.metadata_, indent=2, ensure_ascii=False),
        "conjunction": meter_filter.get("conjunction", "and"),
        "clauses": [
            (c["property"], c["operator"], _as_typed_text(c["value"]))
            for c in meter_filter.get("clauses", [])
            if _flat_filter(row.filter)
        ],
        "aggregation_func": row.aggregation_func,
        "aggregation_property": row.aggregation_property or "",
    }


def _edit_page(
    ctx: DashCtx, row: Any, values: dict[str, Any], errors: FormErrors, status: int = 200
) -> HTMLResponse:
    editing = {"meter": service.render(row), "filter_editable": _flat_filter(row.filter)}
    return _form_page(ctx, values, errors, status, editing=editing)


@router.get("/{meter_ref}/edit")
def edit_meter_form(ctx: Dash, meter_ref: str) -> HTMLResponse:
    ctx.require_write()
    with ctx.database.read() as conn:
        row = service.get_meter(conn, ctx.tenant, meter_ref)
    return _edit_page(ctx, row, _edit_values(row), {})


def _update_data(form: Form, row: Any) -> tuple[dict[str, Any], FormErrors]:
    """Every field the form edits, as the API's PATCH body would carry it."""
    metadata, error = metadata_field(form.get("metadata"))
    if error:
        return {}, {"metadata": error}
    func = form.get("aggregation_func")
    aggregation: dict[str, Any] = {"func": func}
    if form.optional("aggregation_property") and func != "count":
        aggregation["property"] = form.optional("aggregation_property")
    data: dict[str, Any] = {
        "name": form.get("name"),
        "description": form.get("description"),
        "unit": form.get("unit"),
        "rate": form.optional("rate") or "1",
        "metadata": metadata,
        "aggregation": aggregation,
    }
    if _flat_filter(row.filter):
        clauses = [
            {"property": p, "operator": o, "value": _typed(v)} for p, o, v in _clause_rows(form)
        ]
        conjunction = form.get("conjunction", "and")
        data["filter"] = {"conjunction": conjunction, "clauses": clauses} if clauses else None
    return data, {}


def _changed_only(data: dict[str, Any], full: MeterUpdate, row: Any) -> dict[str, Any]:
    """The fields whose value differs from the stored meter: an unchanged filter or
    aggregation is not sent (sending one would rebuild the meter's rollups)."""
    current = {
        "name": row.name,
        "description": row.description,
        "unit": row.unit,
        "rate": row.rate,
        "metadata": row.metadata_,
        "filter": row.filter,
        "aggregation": {"func": row.aggregation_func, "property": row.aggregation_property},
    }
    dumped = full.model_dump()
    for values in (dumped, current):
        if values["filter"] is not None and not values["filter"]["clauses"]:
            values["filter"] = None  # no clauses and no filter both match every event
    return {name: data[name] for name in data if dumped[name] != current[name]}


@router.post("/{meter_ref}")
def update_meter(ctx: Dash, meter_ref: str, form: FormBody) -> Response:
    """Edit: the API's PATCH request model and service (filter and aggregation are frozen
    once events of the meter's name are stored; the service says so next to the field)."""
    ctx.check_csrf(form)
    ctx.require_write()
    values = {**_form_values(form), "description": form.get("description")}
    values["metadata"] = form.get("metadata")
    with ctx.database.read() as conn:
        row = service.get_meter(conn, ctx.tenant, meter_ref)
    if not _clause_rows(form):
        values["clauses"] = []
    data, errors = _update_data(form, row)
    full, more = build(MeterUpdate, data, ALIASES) if not errors else (None, errors)
    if full is None:
        return _edit_page(ctx, row, values, more, status=422)
    body = MeterUpdate.model_validate(_changed_only(data, full, row))

    def write() -> object:
        with ctx.database.write() as conn:
            current = service.get_meter(conn, ctx.tenant, meter_ref)
            return service.update_meter(conn, ctx.tenant, current, body, ctx.clock.now())

    done, errors = attempt(write, ALIASES)
    if done is None:
        return _edit_page(ctx, row, values, errors, status=422)
    return RedirectResponse(f"/dashboard/meters/{render_id('meter', row.id)}", status_code=303)
