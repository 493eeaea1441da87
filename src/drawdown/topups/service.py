"""Top-up rules (checked as a whole on every create and update) and top-ups: manual ones,
and the confirm or fail of an external one. Never commits.

Every change to a top-up takes its account's row lock first (through
:class:`~drawdown.credits.work.CreditWork`), then the top-up's row: the same order as the
threshold step, so the two never wait on each other in a cycle, and a confirm, a fail and
the expiry pass settle a pending top-up exactly once between them."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits.service import currency_of
from drawdown.credits.work import CreditWork
from drawdown.errors import ConflictError, NotFoundError, ValidationFailed, field
from drawdown.ids import new_id, parse_id, render_id
from drawdown.money import AmountError, format_units, parse_amount
from drawdown.paging import PageRequest, Slice
from drawdown.records import CustomerRecord
from drawdown.tenancy import Tenant
from drawdown.topups import booking, policy, store
from drawdown.topups.schemas import (
    GrantTemplate,
    LimitsOut,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TopupConfirm,
    TopupCreate,
    TopupOut,
)
from drawdown.topups.store import RuleRecord, TopupRecord

__all__ = [
    "confirm_topup",
    "count_pending",
    "create_rule",
    "create_topup",
    "delete_rule",
    "fail_topup",
    "get_rule",
    "get_topup",
    "list_rules",
    "list_topups",
    "render_rule",
    "render_topup",
    "update_rule",
]

Loc = list[str | int]


def _units(value: str | int, decimals: int, loc: Loc, *, positive: bool = True) -> int:
    try:
        units = parse_amount(value, decimals)
    except AmountError as exc:
        raise field(loc, str(exc)) from None
    if positive and units == 0:
        raise field(loc, "must be greater than zero")
    return units


def _template(template: GrantTemplate, loc: Loc) -> dict[str, Any]:
    if template.expires_after is not None and policy.parse_duration(template.expires_after) is None:
        raise field(
            [*loc, "expires_after"], "must be an ISO 8601 duration such as P90D, P1M or PT12H"
        )
    return template.model_dump()


def _rule_values(body: RuleCreate, decimals: int, customer: bool, now: datetime) -> dict[str, Any]:
    """The stored columns of a valid rule; every problem found is reported at once."""
    errors: list[tuple[Loc, str]] = []

    def amount(name: str, value: str | int | None, positive: bool = True) -> int | None:
        if value is None:
            return None
        try:
            return _units(value, decimals, [name], positive=positive)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            return None

    def must(cond: bool, name: str, message: str) -> None:
        if not cond:
            errors.append(([name], message))

    threshold = amount("threshold", body.threshold, positive=False)
    fixed = amount("amount", body.amount)
    target = amount("target_balance", body.target_balance)
    if body.trigger == "threshold":
        must(body.threshold is not None, "threshold", "is required for a threshold rule")
        must(body.interval is None, "interval", "is only for a schedule rule")
        must(body.anchor_at is None, "anchor_at", "is only for a schedule rule")
    else:
        must(body.interval is not None, "interval", "is required for a schedule rule")
        must(body.threshold is None, "threshold", "is only for a threshold rule")
        must(customer, "trigger", "organization-wide defaults are threshold rules only")
    if body.method == "fixed":
        must(body.amount is not None, "amount", "is required for the fixed method")
        must(body.target_balance is None, "target_balance", "is only for the target method")
    else:
        must(body.target_balance is not None, "target_balance", "is required for target")
        must(body.amount is None, "amount", "is only for the fixed method")
        if target is not None and threshold is not None:
            must(target > threshold, "target_balance", "must be greater than the threshold")
    max_amount = None
    if body.limits.max_amount_per_day is not None:
        max_amount = _units(
            body.limits.max_amount_per_day, decimals, ["limits", "max_amount_per_day"]
        )
        if fixed is not None and max_amount < fixed:
            errors.append((["limits", "max_amount_per_day"], "must be at least amount"))
    try:
        template = _template(body.grant_template, ["grant_template"])
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    anchor_at = (body.anchor_at or now) if body.trigger == "schedule" else None
    next_run_at = None
    if anchor_at is not None and body.interval is not None:
        next_run_at = policy.period_start(body.interval, anchor_at, now)[0]
    return {
        "name": body.name,
        "enabled": body.enabled,
        "trigger": body.trigger,
        "threshold": threshold,
        "interval": body.interval,
        "anchor_at": anchor_at,
        "next_run_at": next_run_at,
        "method": body.method,
        "amount": fixed,
        "target_balance": target,
        "settlement": body.settlement,
        "grant_template": template,
        "max_per_day": body.limits.max_per_day,
        "max_amount_per_day": max_amount,
        "cooldown_s": body.limits.cooldown_s,
        "decline_backoff_s": body.limits.decline_backoff_s,
        "pending_ttl_s": body.pending_ttl_s,
    }


def create_rule(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    body: RuleCreate,
    now: datetime,
) -> RuleRecord:
    """A rule for one customer or (``customer_id`` None) the organization's default for
    every customer of the currency."""
    currency_id, decimals = currency_of(conn, tenant, body.currency_id, body.meter_id)
    rule_id = new_id()
    values = _rule_values(body, decimals, customer_id is not None, now)
    store.insert_rule(
        conn,
        {
            "id": rule_id,
            "organization_id": tenant.organization_id,
            "mode": tenant.mode,
            "customer_id": customer_id,
            "currency_id": currency_id,
            "created_at": now,
            "updated_at": now,
            **values,
        },
    )
    return _rule(conn, tenant, rule_id)


def _rule(conn: Connection, tenant: Tenant, rule_id: uuid.UUID) -> RuleRecord:
    rule = store.get_rule(conn, tenant, rule_id)
    assert rule is not None
    return rule


def get_rule(conn: Connection, tenant: Tenant, ref: str) -> RuleRecord:
    parsed = parse_id("topup_rule", ref)
    rule = None if parsed is None else store.get_rule(conn, tenant, parsed)
    if rule is None:
        raise NotFoundError(f"No top-up rule {ref}")
    return rule


def update_rule(
    conn: Connection, tenant: Tenant, rule: RuleRecord, body: RuleUpdate, now: datetime
) -> RuleRecord:
    """Apply the fields sent, then check the rule as a whole. A schedule keeps its
    anchor and its next run."""
    sent = body.model_fields_set
    for name in sent:
        if getattr(body, name) is None and name not in ("amount", "target_balance", "threshold"):
            raise field([name], "cannot be null")
    current = render_rule(rule).model_dump()
    merged = {
        name: current[name]
        for name in (
            "name",
            "enabled",
            "trigger",
            "threshold",
            "interval",
            "method",
            "amount",
            "target_balance",
            "settlement",
            "grant_template",
            "pending_ttl_s",
        )
    }
    merged["limits"] = {k: v for k, v in current["limits"].items()}
    merged["anchor_at"] = rule.anchor_at
    merged["currency_id"] = render_id("currency", rule.currency_id)
    for name in sent:
        value = getattr(body, name)
        merged[name] = value.model_dump() if hasattr(value, "model_dump") else value
    if body.method is not None and "amount" not in sent and body.method == "target":
        merged["amount"] = None
    if body.method is not None and "target_balance" not in sent and body.method == "fixed":
        merged["target_balance"] = None
    values = _rule_values(RuleCreate(**merged), rule.decimals, rule.customer_id is not None, now)
    values["next_run_at"] = rule.next_run_at  # the schedule does not move
    store.update_rule(conn, tenant, rule.id, {**values, "updated_at": now})
    return _rule(conn, tenant, rule.id)


def delete_rule(conn: Connection, tenant: Tenant, rule: RuleRecord) -> None:
    """The rule goes; its top-ups stay (a pending one can still be confirmed)."""
    store.delete_rule(conn, tenant, rule.id)


def list_rules(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    defaults_only: bool,
    page: PageRequest,
) -> Slice[RuleRecord]:
    return store.rules_page(conn, tenant, customer_id, defaults_only, page)


def _money(value: int | None, decimals: int) -> str | None:
    return None if value is None else format_units(value, decimals)


def render_rule(rule: RuleRecord) -> RuleOut:
    d = rule.decimals
    return RuleOut(
        id=render_id("topup_rule", rule.id),
        customer_id=render_id("customer", rule.customer_id) if rule.customer_id else None,
        currency_id=render_id("currency", rule.currency_id),
        name=rule.name,
        enabled=rule.enabled,
        trigger=rule.trigger,
        threshold=_money(rule.threshold, d),
        interval=rule.interval,
        anchor_at=rule.anchor_at,
        next_run_at=rule.next_run_at,
        method=rule.method,
        amount=_money(rule.amount, d),
        target_balance=_money(rule.target_balance, d),
        settlement=rule.settlement,
        grant_template=GrantTemplate(**rule.grant_template),
        limits=LimitsOut(
            max_per_day=rule.max_per_day,
            max_amount_per_day=_money(rule.max_amount_per_day, d),
            cooldown_s=rule.cooldown_s,
            decline_backoff_s=rule.decline_backoff_s,
        ),
        pending_ttl_s=rule.pending_ttl_s,
        livemode=rule.mode == "live",
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


# -- top-ups -------------------------------------------------------------------------------


def render_topup(row: TopupRecord, now: datetime) -> TopupOut:
    return TopupOut(
        id=render_id("topup", row.id),
        rule_id=render_id("topup_rule", row.rule_id) if row.rule_id else None,
        customer_id=render_id("customer", row.customer_id),
        currency_id=render_id("currency", row.currency_id),
        amount=format_units(row.amount, row.decimals),
        status=row.status_at(now),
        reason=row.reason,
        settlement=row.settlement,
        grant_id=render_id("credit_grant", row.grant_id) if row.grant_id else None,
        external_reference=row.external_reference,
        failure_reason=row.failure_reason,
        period_start=row.period_start,
        metadata=row.metadata_,
        livemode=row.mode == "live",
        created_at=row.created_at,
        settled_at=row.settled_at,
        expires_at=row.expires_at,
    )


def _topup_id(ref: str) -> uuid.UUID:
    parsed = parse_id("topup", ref)
    if parsed is None:
        raise NotFoundError(f"No top-up {ref}")
    return parsed


def get_topup(conn: Connection, tenant: Tenant, ref: str) -> TopupRecord:
    row = store.get_topup(conn, tenant, _topup_id(ref))
    if row is None:
        raise NotFoundError(f"No top-up {ref}")
    return row


def count_pending(conn: Connection, tenant: Tenant, now: datetime) -> int:
    """Top-ups pending now (not past expires_at)."""
    return store.count_pending(conn, tenant, now)


def list_topups(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID | None,
    status: str | None,
    now: datetime,
    page: PageRequest,
) -> Slice[TopupRecord]:
    return store.topups_page(conn, tenant, customer_id, status, now, page)


def create_topup(
    conn: Connection,
    tenant: Tenant,
    customer: CustomerRecord,
    body: TopupCreate,
    now: datetime,
    pending_ttl_s: int,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> TopupRecord:
    """A manual top-up: granted now (auto) or pending until confirmed (external)."""
    currency_id, decimals = currency_of(conn, tenant, body.currency_id, body.meter_id)
    units = _units(body.amount, decimals, ["amount"])
    template = _template(body.grant_template, ["grant_template"])
    key = (customer.id, currency_id)
    work = CreditWork.open(conn, tenant, [key], now, grace=grace)
    row = booking.new_row(
        tenant,
        key,
        units,
        rule_id=None,
        reason="manual",
        settlement=body.settlement,
        template=template,
        pending_ttl_s=pending_ttl_s,
        now=now,
        metadata=body.metadata,
    )
    booking.book(work, row, work.labels([key])[key])
    work.finish()
    return _reloaded(conn, tenant, row["id"])


def _reloaded(conn: Connection, tenant: Tenant, topup_id: uuid.UUID) -> TopupRecord:
    row = store.get_topup(conn, tenant, topup_id)
    assert row is not None
    return row


def _open_pending(
    conn: Connection, tenant: Tenant, ref: str, now: datetime, grace: timedelta
) -> tuple[CreditWork, TopupRecord]:
    """Lock the top-up's account, then the top-up; 409 unless it is pending now."""
    found = get_topup(conn, tenant, ref)
    key = (found.customer_id, found.currency_id)
    work = CreditWork.open(conn, tenant, [key], now, grace=grace)
    row = store.get_topup(conn, tenant, found.id, lock=True)
    assert row is not None
    status = row.status_at(now)
    if status != "pending":
        raise ConflictError(
            f"Top-up {ref} is {status}; only a pending top-up can be settled",
            code=f"topup_{status}",
        )
    return work, row


def confirm_topup(
    conn: Connection,
    tenant: Tenant,
    ref: str,
    body: TopupConfirm,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> TopupRecord:
    """The charge succeeded: make the grant, in this transaction (``topup.succeeded`` and
    ``credit_grant.created``)."""
    work, row = _open_pending(conn, tenant, ref, now, grace)
    key = (row.customer_id, row.currency_id)
    grant_id = booking.add_grant(work, key, row.amount, row.grant_template)
    values = {
        "status": "succeeded",
        "grant_id": grant_id,
        "external_reference": body.external_reference,
        "settled_at": now,
        "updated_at": now,
    }
    _settle(work, row, values, "succeeded")
    work.finish()
    return _reloaded(conn, tenant, row.id)


def fail_topup(
    conn: Connection,
    tenant: Tenant,
    ref: str,
    reason: str,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> TopupRecord:
    """The charge failed: no grant; the rule's decline back-off starts (``topup.failed``)."""
    work, row = _open_pending(conn, tenant, ref, now, grace)
    values = {"status": "failed", "failure_reason": reason, "settled_at": now, "updated_at": now}
    _settle(work, row, values, "failed")
    work.finish()
    return _reloaded(conn, tenant, row.id)


def _settle(work: CreditWork, row: TopupRecord, values: dict[str, Any], kind: str) -> None:
    key = (row.customer_id, row.currency_id)
    label = work.labels([key])[key]
    settled = dataclasses.replace(row, **values)
    data = booking.event_data(settled, row.decimals, label.external_id)

    def write(conn: Connection) -> None:
        assert store.settle_topup(conn, row.id, values), "the row is locked and pending"
        booking.emit(conn, row.tenant, kind, data, work.now)

    work.on_flush(write)
