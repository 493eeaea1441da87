"""Threshold evaluation inside the credits transaction: zero lag, one event per crossing.

Each threshold of an alert is ``ok`` or ``in_alarm`` per customer. It goes ``ok ->
in_alarm`` when the balance is at or below the threshold (``credit.balance_low``) and back
to ``ok`` only above threshold + ``rearm_margin`` (``credit.balance_recovered`` if the
threshold asked for it). The caller holds the account's row lock, so the state read here is
the committed one and one crossing writes exactly one event, however many transactions or
processes move the balance. A state seen for the first time is seeded from the balance
before the move, without firing (for an account with no history yet: from the balance after,
so a new customer's first grant is no "recovery").

Outside the hysteresis band ``(threshold, threshold + rearm_margin]`` the state follows from
the balance alone (at or below: ``in_alarm``; above the band: ``ok``), because every move is
evaluated and every change of thresholds, margin, balance type or enabling starts the states
afresh. So a move that stays above every band (the common case: a customer with credit to
spare) cannot cross anything and is skipped: no state is read or written for it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from drawdown.alerts import store
from drawdown.alerts.store import AlertRecord, StateRecord
from drawdown.ids import render_id
from drawdown.money import format_units
from drawdown.tenancy import Tenant
from drawdown.webhooks.outbox import OutboxEvent

__all__ = ["Crossing", "HeldLookup", "Move", "evaluate", "next_state", "render"]


@dataclass(frozen=True, slots=True)
class Move:
    """One account's balance before and after a transaction (base units)."""

    tenant: Tenant
    account_id: uuid.UUID
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    before_ledger: int
    after_ledger: int
    ledger_sequence: int
    # The account's last sequence before the move; 0 for an account with no history.
    before_sequence: int
    # What active holds reserve before and after; available = max(ledger - held, 0).
    # None: the writer did not load the holds (ingest, grant writes; a transaction that
    # does not touch holds leaves them as they were), looked up when an alert needs them.
    before_held: int | None = 0
    after_held: int | None = 0

    def values(self, balance_type: str) -> tuple[int, int]:
        if balance_type == "ledger":
            return self.before_ledger, self.after_ledger
        return (
            max(self.before_ledger - (self.before_held or 0), 0),
            max(self.after_ledger - (self.after_held or 0), 0),
        )


@dataclass(slots=True)
class Crossing:
    """What one evaluation of one alert for one customer decided."""

    move: Move
    alert: AlertRecord
    kind: str  # "triggered" or "resolved"
    thresholds: list[dict[str, Any]] = field(default_factory=list)


def next_state(state: str, value: int, threshold: int, rearm_margin: int) -> str:
    """The hysteresis rule, shared with top-up rules: fire at or below, re-arm above
    threshold + margin, otherwise keep the state."""
    if state == "ok" and value <= threshold:
        return "in_alarm"
    if state == "in_alarm" and value > threshold + rearm_margin:
        return "ok"
    return state


def _applies(alert: AlertRecord, move: Move) -> bool:
    return alert.currency_id == move.currency_id and alert.customer_id in (None, move.customer_id)


def _near(alert: AlertRecord, move: Move) -> bool:
    """Whether this move can change or seed a state worth keeping: it reaches the highest
    threshold's band (thresholds are strictly decreasing, so that is the first)."""
    before, after = move.values(alert.balance_type)
    lowest = after if move.before_sequence == 0 else min(before, after)
    return lowest <= int(alert.thresholds[0]["value"]) + alert.rearm_margin


# Given account ids, what their active holds reserve now (absent: nothing).
HeldLookup = Callable[[Sequence[uuid.UUID]], dict[uuid.UUID, int]]


def evaluate(
    conn: Connection,
    moves: Sequence[Move],
    now: datetime,
    held_of: HeldLookup | None = None,
) -> list[Crossing]:
    """Update threshold states for these moves; return the crossings to emit. ``held_of``
    fills in the holds of moves that did not load them, for alerts on the available
    balance (one query, only when such an alert applies)."""
    crossings: list[Crossing] = []
    by_tenant: dict[Tenant, list[Move]] = {}
    for move in moves:
        by_tenant.setdefault(move.tenant, []).append(move)
    for tenant, group in by_tenant.items():
        customers = [m.customer_id for m in group]
        alerts = store.alerts_for(conn, tenant, customers, [m.currency_id for m in group])
        if alerts and held_of is not None:
            group = _with_holds(group, alerts, held_of)
        pairs = [
            (alert, move)
            for move in group
            for alert in alerts
            if alert.thresholds and _applies(alert, move) and _near(alert, move)
        ]
        if not pairs:
            continue
        states = store.states_for(
            conn, [alert.id for alert, _ in pairs], [move.customer_id for _, move in pairs]
        )
        new: list[StateRecord] = []
        changed: list[StateRecord] = []
        for alert, move in pairs:
            crossings += _evaluate_one(alert, move, states, now, new, changed)
        store.write_states(conn, new, changed)
    return crossings


def _with_holds(
    group: list[Move], alerts: Sequence[AlertRecord], held_of: HeldLookup
) -> list[Move]:
    """The moves with their holds filled in where an alert on the available balance needs
    them. The transaction did not change those holds: before and after are the same."""
    unknown = [
        m
        for m in group
        if m.after_held is None
        and any(a.balance_type == "available" and _applies(a, m) for a in alerts)
    ]
    if not unknown:
        return group
    held = held_of([m.account_id for m in unknown])
    filled = {m.account_id: held.get(m.account_id, 0) for m in unknown}
    return [
        replace(m, before_held=filled[m.account_id], after_held=filled[m.account_id])
        if m.account_id in filled
        else m
        for m in group
    ]


def _evaluate_one(
    alert: AlertRecord,
    move: Move,
    states: dict[tuple[uuid.UUID, uuid.UUID, str], StateRecord],
    now: datetime,
    new: list[StateRecord],
    changed: list[StateRecord],
) -> list[Crossing]:
    before, after = move.values(alert.balance_type)
    triggered = Crossing(move, alert, "triggered")
    resolved = Crossing(move, alert, "resolved")
    for threshold in alert.thresholds:
        code, value = threshold["code"], int(threshold["value"])
        stored = states.get((alert.id, move.customer_id, code))
        if stored is not None:
            current = stored.state
        else:  # seeded from the balance before the move; an account with no history from after
            seed = before if move.before_sequence > 0 else after
            current = "in_alarm" if seed <= value else "ok"
        state = next_state(current, after, value, alert.rearm_margin)
        record = StateRecord(alert.id, move.customer_id, code, state, now, after)
        if stored is None:
            new.append(record)  # seeded (and possibly crossed) now
        elif state != stored.state:
            changed.append(record)  # no write while a state holds
        if state != current and state == "in_alarm":
            triggered.thresholds.append(threshold)
        elif state != current and "resolved" in threshold.get("notify_on", ()):
            resolved.thresholds.append(threshold)
    return [c for c in (triggered, resolved) if c.thresholds]


def render(
    crossing: Crossing, external_id: str | None, decimals: int, now: datetime
) -> OutboxEvent:
    """The ``credit.balance_low`` or ``credit.balance_recovered`` event of a crossing; the
    most severe threshold (lowest for a fall, highest for a recovery) is named first."""
    move, alert = crossing.move, crossing.alert
    before, after = move.values(alert.balance_type)
    ordered = sorted(crossing.thresholds, key=lambda t: int(t["value"]))
    if crossing.kind == "resolved":
        ordered.reverse()
    thresholds = [
        {"code": t["code"], "value": format_units(int(t["value"]), decimals)} for t in ordered
    ]
    data = {
        "alert_id": render_id("balance_alert", alert.id),
        "customer_id": render_id("customer", move.customer_id),
        "external_customer_id": external_id,
        "currency_id": render_id("currency", move.currency_id),
        "balance_type": alert.balance_type,
        "threshold_code": thresholds[0]["code"],
        "threshold": thresholds[0]["value"],
        "thresholds": thresholds,
        "balance": format_units(after, decimals),
        "previous_balance": format_units(before, decimals),
        "ledger_sequence": move.ledger_sequence,
    }
    name = "credit.balance_low" if crossing.kind == "triggered" else "credit.balance_recovered"
    return OutboxEvent(name, data, now)
