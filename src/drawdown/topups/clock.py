"""The top-ups' share of the background clock: schedule runs and expiry of pending top-ups.
Both are extra passes of :mod:`drawdown.credits.clock` (handed in by the wiring), safe to run
from any number of servers and workers at once:

- a schedule rule whose next period has started is locked (``FOR UPDATE SKIP LOCKED``), its
  next run moved to the following period, and the period's top-up claimed by the unique key
  (rule, customer, period start): one run per period, whichever worker gets there. Periods
  missed while no clock ran are not made up: the run is for the period the clock is in;
- a pending top-up past its expires_at becomes ``expired`` (``topup.expired``) by a
  conditional update, so a confirm racing it either wins or gets a 409."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from drawdown.config import Settings
from drawdown.credits.clock import ClockPass
from drawdown.credits.work import CreditWork
from drawdown.customers.service import get_customers
from drawdown.db.engine import Database
from drawdown.topups import booking, policy, store
from drawdown.topups.store import RuleRecord
from drawdown.topups.threshold import STEP, pending_of

__all__ = ["MAX_PER_PASS", "clock_passes", "expire_pending", "run_schedules"]

MAX_PER_PASS = 100


def run_schedules(database: Database, now: datetime, limit: int = MAX_PER_PASS) -> int:
    """Run the schedule rules that are due; return how many top-ups were made."""
    made = 0
    with database.write() as conn:
        for rule in store.due_schedule_rules(conn, now, limit):
            made += _run(conn, rule, now)
    return made


def _run(conn: Connection, rule: RuleRecord, now: datetime) -> int:
    assert rule.interval is not None and rule.anchor_at is not None
    assert rule.customer_id is not None, "schedule rules belong to one customer"
    start, following = policy.period_start(rule.interval, rule.anchor_at, now)
    store.set_next_run(conn, rule.id, following, now)
    tenant = rule.tenant
    if rule.customer_id not in get_customers(conn, tenant, [rule.customer_id]):
        return 0  # the customer was deleted: nothing more is granted
    key = (rule.customer_id, rule.currency_id)
    work = CreditWork.open(conn, tenant, [key], now)
    book = work.book(*key)
    pending = pending_of(store.history(conn, tenant, [key[0]], [key[1]], now), key, now)
    level = book.live_remaining(now) - book.debt - work.held([key])[key] + pending
    units = policy.schedule_amount(rule.method, rule.amount, rule.target_balance, level)
    made = 0
    if units > 0:
        row = booking.new_row(
            tenant,
            key,
            units,
            rule_id=rule.id,
            reason="schedule",
            settlement=rule.settlement,
            template=rule.grant_template,
            pending_ttl_s=rule.pending_ttl_s or STEP.default_ttl_s,
            now=now,
            period_start=start,
        )
        if store.claim_period(conn, row):
            booking.book(work, row, work.labels([key])[key], stored=True)
            made = 1
    work.finish()
    return made


def expire_pending(database: Database, now: datetime, limit: int = MAX_PER_PASS) -> int:
    """Expire pending top-ups past expires_at; return how many."""
    with database.read() as conn:
        due = store.expired_pending(conn, now, limit)
    if not due:
        return 0  # the common case: one read, no write lock
    expired = 0
    with database.write() as conn:
        for found in due:
            key = (found.customer_id, found.currency_id)
            work = CreditWork.open(conn, found.tenant, [key], now)
            values: dict[str, Any] = {
                "status": "expired",
                "settled_at": found.expires_at,
                "updated_at": now,
            }
            if store.settle_topup(conn, found.id, values):
                label = work.labels([key])[key]
                data = booking.event_data(
                    dataclasses.replace(found, **values), found.decimals, label.external_id
                )
                booking.emit(conn, found.tenant, "expired", data, now)
                expired += 1
            work.finish()
    return expired


def clock_passes(settings: Settings) -> list[ClockPass]:
    del settings
    return [run_schedules, expire_pending]
