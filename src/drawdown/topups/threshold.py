"""Threshold rules, decided inside every credits transaction (a finish step of
:class:`~drawdown.credits.work.CreditWork`, installed by the application's wiring).

Every writer (ingest, grants, holds, the clock) ends in ``CreditWork.finish`` holding the
row locks of the accounts it moved, so the decision "is this account at or below a rule's
threshold, counting pending top-ups" is made by one transaction at a time per account, on
committed history: one shortfall makes one top-up, however many processes ingest at once.
An auto top-up's grant joins the same book before it is checked and flushed, so it pays
debt first and the balance events and alerts of the transaction already see it.

When no account moved, nothing is read; when accounts moved, one query finds their rules
(the customer's own threshold rules in a currency win over the organization's defaults),
and only accounts with a rule cost more (their top-up history, what holds reserve). A
transaction that voids one of an account's grants (an operator taking credits away, or the
customer being deleted) makes no top-up for that account."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from drawdown.config import Settings
from drawdown.credits.book import Book
from drawdown.credits.records import AccountKey, AccountRecord
from drawdown.credits.work import CreditWork
from drawdown.tenancy import Tenant
from drawdown.topups import booking, policy, store
from drawdown.topups.store import RuleRecord, TopupRecord

__all__ = ["STEP", "ThresholdStep", "history_of", "limits_of", "pending_of"]


def limits_of(rule: RuleRecord) -> policy.Limits:
    return policy.Limits(
        rule.max_per_day, rule.max_amount_per_day, rule.cooldown_s, rule.decline_backoff_s
    )


def pending_of(rows: list[TopupRecord], key: AccountKey, now: datetime) -> int:
    """What the account's pending top-ups (any rule, or manual) will add."""
    return sum(
        row.amount
        for row in rows
        if (row.customer_id, row.currency_id) == key and row.status_at(now) == "pending"
    )


def history_of(
    rows: list[TopupRecord], rule: RuleRecord, customer_id: object, now: datetime
) -> policy.History:
    mine = [row for row in rows if row.rule_id == rule.id and row.customer_id == customer_id]
    day_ago = now - policy.DAY
    recent = [row for row in mine if row.created_at > day_ago]
    declined = [
        row.settled_at if row.status == "failed" else row.expires_at
        for row in mine
        if row.status_at(now) in ("failed", "expired")
    ]
    succeeded = [row.settled_at for row in mine if row.status == "succeeded"]
    return policy.History(
        count_24h=len(recent),
        amount_24h=sum(r.amount for r in recent if r.status_at(now) in ("pending", "succeeded")),
        last_created_at=max((row.created_at for row in mine), default=None),
        last_declined_at=max((d for d in declined if d is not None), default=None),
        last_succeeded_at=max((s for s in succeeded if s is not None), default=None),
    )


def _voided(book: Book) -> bool:
    """This transaction voided one of the account's grants: no automatic refill for it."""
    return any(book.grants[grant_id].status == "voided" for grant_id in book.changed)


def _applicable(
    rules: list[RuleRecord], keys: list[AccountKey]
) -> dict[AccountKey, list[RuleRecord]]:
    """Per account, its customer's own rules in the currency, else the defaults."""
    own: dict[AccountKey, list[RuleRecord]] = defaultdict(list)
    defaults: dict[object, list[RuleRecord]] = defaultdict(list)
    for rule in rules:
        if rule.customer_id is None:
            defaults[rule.currency_id].append(rule)
        else:
            own[(rule.customer_id, rule.currency_id)].append(rule)
    out = {}
    for key in keys:
        found = own.get(key) or defaults.get(key[1])
        if found:
            out[key] = found
    return out


class ThresholdStep:
    """The finish step. One instance per process (:data:`STEP`); the wiring sets its
    default pending TTL from the settings."""

    def __init__(self) -> None:
        self.default_ttl_s = Settings.model_fields["topup_pending_ttl_s"].default

    def __call__(self, work: CreditWork) -> None:
        moved: dict[Tenant, list[AccountRecord]] = defaultdict(list)
        for account, book in work.pairs():
            if _voided(book):
                continue  # the operator took credits away (or deleted the customer)
            if book.entries or book.changed or book.changed_holds:
                moved[account.tenant].append(account)
        for tenant, accounts in moved.items():
            self._tenant(work, tenant, accounts)

    def _tenant(self, work: CreditWork, tenant: Tenant, accounts: list[AccountRecord]) -> None:
        keys = [account.key for account in accounts]
        customer_ids = [key[0] for key in keys]
        currency_ids = [key[1] for key in keys]
        rules = store.threshold_rules(work.conn, tenant, customer_ids, currency_ids)
        by_key = _applicable(rules, keys) if rules else {}
        if not by_key:
            return
        window = max(
            [policy.DAY]
            + [timedelta(seconds=max(r.cooldown_s, r.decline_backoff_s)) for r in rules]
        )
        rows = store.history(
            work.conn, tenant, [k[0] for k in by_key], [k[1] for k in by_key], work.now - window
        )
        held = work.held(list(by_key))
        for key, applicable in by_key.items():
            book = work.book(*key)
            level = book.live_remaining(work.now) - book.debt - held[key]
            level += pending_of(rows, key, work.now)
            for rule in applicable:
                level += self._fire(work, tenant, key, rule, rows, level)

    def _fire(
        self,
        work: CreditWork,
        tenant: Tenant,
        key: AccountKey,
        rule: RuleRecord,
        rows: list[TopupRecord],
        level: int,
    ) -> int:
        """Make this rule's top-up if it is due and allowed; return its amount (or 0)."""
        assert rule.threshold is not None
        units = policy.fire_amount(
            rule.method, rule.threshold, rule.amount, rule.target_balance, level
        )
        history = history_of(rows, rule, key[0], work.now)
        units = policy.limited_amount(
            units, rule.method, rule.amount, limits_of(rule), history, work.now
        )
        if units <= 0:
            return 0
        row = booking.new_row(
            tenant,
            key,
            units,
            rule_id=rule.id,
            reason="threshold",
            settlement=rule.settlement,
            template=rule.grant_template,
            pending_ttl_s=rule.pending_ttl_s or self.default_ttl_s,
            now=work.now,
        )
        # Labels (external id, decimals) only for what fires: one query per top-up made.
        booking.book(work, row, work.labels([key])[key])
        rows.append(TopupRecord.of(_AsRow(row, rule.decimals)))
        return units


STEP = ThresholdStep()


class _AsRow:
    """A new row dict seen as a stored row (``_mapping``), so later rules of the same
    transaction count it in their history."""

    def __init__(self, row: dict[str, object], decimals: int) -> None:
        self._mapping = {**row, "decimals": decimals}
