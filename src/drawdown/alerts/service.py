"""Alert rules: thresholds are exact amounts in the alert's currency, unique by code and
strictly decreasing; the available balance never goes below zero, so its thresholds are at
least zero. Evaluation lives in :mod:`drawdown.alerts.evaluate`. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from drawdown.alerts import store
from drawdown.alerts.schemas import AlertCreate, AlertOut, AlertUpdate, ThresholdIn, ThresholdOut
from drawdown.alerts.store import AlertRecord, StateRecord
from drawdown.currencies import service as currencies
from drawdown.errors import NotFoundError, ValidationFailed, field
from drawdown.ids import new_id, parse_id, render_id
from drawdown.meters import service as meters
from drawdown.money import AmountError, format_units, parse_amount
from drawdown.tenancy import Tenant

__all__ = [
    "alarms",
    "count_alarms",
    "create_alert",
    "delete_alert",
    "get_alert",
    "render",
    "update_alert",
]


def _currency(conn: Connection, tenant: Tenant, body: AlertCreate) -> Any:
    if (body.currency_id is None) == (body.meter_id is None):
        raise field("currency_id", "give exactly one of currency_id or meter_id")
    if body.meter_id is not None:
        try:
            meter = meters.get_meter(conn, tenant, body.meter_id)
        except NotFoundError:
            raise field("meter_id", f"no meter {body.meter_id!r}") from None
        return currencies.get_currency(conn, tenant, render_id("currency", meter.currency_id))
    try:
        return currencies.get_currency(conn, tenant, body.currency_id or "")
    except NotFoundError:
        raise field("currency_id", f"no currency {body.currency_id}") from None


def _thresholds(items: list[ThresholdIn], decimals: int, balance_type: str) -> list[dict[str, Any]]:
    errors: list[tuple[list[str | int], str]] = []
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        loc: list[str | int] = ["thresholds", index, "value"]
        try:
            value = parse_amount(item.value, decimals, allow_negative=balance_type == "ledger")
        except AmountError as exc:
            errors.append((loc, str(exc)))
            continue
        if out and value >= out[-1]["value"]:
            errors.append((loc, "thresholds must be strictly decreasing"))
        if item.code in {t["code"] for t in out}:
            errors.append((["thresholds", index, "code"], "codes must be unique"))
        out.append(
            {"code": item.code, "value": value, "notify_on": list(dict.fromkeys(item.notify_on))}
        )
    if errors:
        raise ValidationFailed(errors)
    return out


def _margin(value: str, decimals: int) -> int:
    try:
        return parse_amount(value, decimals)
    except AmountError as exc:
        raise field("rearm_margin", str(exc)) from None


def create_alert(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    body: AlertCreate,
    now: datetime,
) -> AlertRecord:
    """An alert for one customer, or (``customer_id`` None) the organization's default for
    every customer of the currency. Its state is seeded on the next move, without firing."""
    currency = _currency(conn, tenant, body)
    alert_id = new_id()
    store.insert_alert(
        conn,
        {
            "id": alert_id,
            "organization_id": tenant.organization_id,
            "mode": tenant.mode,
            "customer_id": customer_id,
            "currency_id": currency.id,
            "name": body.name,
            "balance_type": body.balance_type,
            "thresholds": _thresholds(body.thresholds, currency.decimals, body.balance_type),
            "rearm_margin": _margin(body.rearm_margin, currency.decimals),
            "enabled": body.enabled,
            "created_at": now,
            "updated_at": now,
        },
    )
    return _reload(conn, tenant, alert_id)


def _reload(conn: Connection, tenant: Tenant, alert_id: uuid.UUID) -> AlertRecord:
    alert = store.get_alert(conn, tenant, alert_id)
    assert alert is not None
    return alert


def get_alert(conn: Connection, tenant: Tenant, ref: str) -> AlertRecord:
    parsed = parse_id("balance_alert", ref)
    alert = None if parsed is None else store.get_alert(conn, tenant, parsed)
    if alert is None:
        raise NotFoundError(f"No balance alert {ref}")
    return alert


def update_alert(
    conn: Connection, tenant: Tenant, alert: AlertRecord, body: AlertUpdate, now: datetime
) -> AlertRecord:
    sent = body.model_fields_set
    for name in sent:
        if getattr(body, name) is None:
            raise field(name, "cannot be null")
    decimals = _decimals(conn, tenant, alert)
    balance_type = body.balance_type or alert.balance_type
    values: dict[str, Any] = {}
    if "name" in sent:
        values["name"] = body.name
    if "enabled" in sent:
        values["enabled"] = body.enabled
    if "balance_type" in sent:
        values["balance_type"] = balance_type
    if body.thresholds is not None or "balance_type" in sent:
        items = body.thresholds or [_threshold_in(t, decimals) for t in alert.thresholds]
        values["thresholds"] = _thresholds(items, decimals, balance_type)
    if body.rearm_margin is not None:
        values["rearm_margin"] = _margin(body.rearm_margin, decimals)
    # Balances moved unevaluated while the alert was off, and a state is only known relative
    # to its thresholds: start afresh (seeded again on the next move, without firing).
    reenabled = values.get("enabled") is True and not alert.enabled
    if reenabled or {"thresholds", "rearm_margin", "balance_type"} & set(values):
        store.clear_states(conn, alert.id)
    if values:
        store.update_alert(conn, tenant, alert.id, {**values, "updated_at": now})
    return _reload(conn, tenant, alert.id)


def _threshold_in(stored: dict[str, Any], decimals: int) -> ThresholdIn:
    return ThresholdIn(
        code=stored["code"],
        value=format_units(int(stored["value"]), decimals),
        notify_on=stored["notify_on"],
    )


def delete_alert(conn: Connection, tenant: Tenant, alert: AlertRecord) -> None:
    store.delete_alert(conn, tenant, alert.id)


def count_alarms(conn: Connection, tenant: Tenant) -> int:
    return store.count_alarms(conn, tenant)


def alarms(conn: Connection, tenant: Tenant, limit: int) -> list[store.AlarmRecord]:
    return store.alarms(conn, tenant, limit)


def _decimals(conn: Connection, tenant: Tenant, alert: AlertRecord) -> int:
    currency = currencies.get_currency(conn, tenant, render_id("currency", alert.currency_id))
    return int(currency.decimals)


def render(
    conn: Connection, tenant: Tenant, alert: AlertRecord, customer_id: uuid.UUID | None = None
) -> AlertOut:
    """The alert; with ``customer_id``, each threshold's state for that customer."""
    decimals = _decimals(conn, tenant, alert)
    states: dict[str, StateRecord] = {}
    if customer_id is not None:
        states = {s.code: s for s in store.customer_states(conn, alert.id, customer_id)}
    thresholds = []
    for t in alert.thresholds:
        state = states.get(t["code"])
        thresholds.append(
            ThresholdOut(
                code=t["code"],
                value=format_units(int(t["value"]), decimals),
                notify_on=t["notify_on"],
                state=state.state if state else None,
                since=state.since if state else None,
            )
        )
    return AlertOut(
        id=render_id("balance_alert", alert.id),
        customer_id=alert.customer_id,
        currency_id=render_id("currency", alert.currency_id),
        name=alert.name,
        balance_type=alert.balance_type,
        thresholds=thresholds,
        rearm_margin=format_units(alert.rearm_margin, decimals),
        enabled=alert.enabled,
        livemode=alert.mode == "live",
        created_at=alert.created_at,
        updated_at=alert.updated_at,
    )
