"""The credit engine's pure core: one account's grants and debt, and the entries that move
them. No I/O. The writer (drawdown, the clock, grant operations) and the readers (balances,
access checks) run the same code, so what a read reports is exactly what the next write
would book.

Order of grants (DESIGN rule 5): priority ascending, then expiry soonest first (never last),
then promotional before paid, then effective_at, then creation order (the time-ordered id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Book", "EntryDraft", "GrantState", "burn_order"]

OPEN_STATUSES = ("pending", "active")


@dataclass(slots=True)
class GrantState:
    id: uuid.UUID
    amount: int
    remaining: int
    category: str
    priority: int
    effective_at: datetime
    expires_at: datetime | None
    status: str
    booked_at: datetime | None = None
    closed_at: datetime | None = None
    is_new: bool = False

    def active_at(self, when: datetime) -> bool:
        return self.effective_at <= when and (self.expires_at is None or when < self.expires_at)


@dataclass(frozen=True, slots=True)
class EntryDraft:
    sequence: int
    type: str
    amount: int
    balance_after: int
    grant_id: uuid.UUID | None
    event_id: uuid.UUID | None


_NEVER = datetime.max.replace(tzinfo=UTC)


def burn_order(grant: GrantState) -> tuple[object, ...]:
    return (
        grant.priority,
        grant.expires_at or _NEVER,
        grant.category != "promotional",
        grant.effective_at,
        grant.id,
    )


@dataclass
class Book:
    """One account (customer x currency) loaded for a transaction: its balance, debt, last
    sequence number and its open grants. Methods append entries; nothing is written until
    the caller flushes ``entries`` and ``changed`` grants."""

    balance: int
    debt: int
    last_sequence: int
    grants: dict[uuid.UUID, GrantState]
    entries: list[EntryDraft] = field(default_factory=list)
    changed: set[uuid.UUID] = field(default_factory=set)

    # -- posting -------------------------------------------------------------------------

    def _post(
        self, type_: str, amount: int, grant: GrantState | None, event_id: uuid.UUID | None
    ) -> None:
        assert amount != 0, "no empty entries"
        self.last_sequence += 1
        self.balance += amount
        self.entries.append(
            EntryDraft(
                self.last_sequence,
                type_,
                amount,
                self.balance,
                grant.id if grant else None,
                event_id,
            )
        )

    def _take(self, grant: GrantState, units: int, now: datetime) -> None:
        assert 0 < units <= grant.remaining
        grant.remaining -= units
        if grant.remaining == 0:
            grant.status, grant.closed_at = "depleted", now
        self.changed.add(grant.id)

    # -- the clock -----------------------------------------------------------------------

    def catch_up(self, now: datetime) -> None:
        """Apply every activation and expiry due by ``now``, in time order, so that a grant
        that was briefly active while nobody looked still paid debt (rule 6) before its
        remainder expired (rule 8)."""
        due: list[tuple[datetime, int, GrantState]] = []
        for grant in self.grants.values():
            if grant.status == "pending" and grant.effective_at <= now:
                due.append((grant.effective_at, 0, grant))
            if grant.status in OPEN_STATUSES and grant.expires_at and grant.expires_at <= now:
                due.append((grant.expires_at, 1, grant))
        for _, kind, grant in sorted(due, key=lambda item: (item[0], item[1], item[2].id)):
            if kind == 0:
                self.activate(grant, now)
            elif grant.status in OPEN_STATUSES:  # paying debt may have depleted it
                self.expire(grant, now)

    def activate(self, grant: GrantState, now: datetime) -> None:
        assert grant.status == "pending"
        grant.status, grant.booked_at = "active", now
        self.changed.add(grant.id)
        self._post("grant", grant.amount, grant, None)
        self._settle_debt(grant, now)

    def _settle_debt(self, grant: GrantState, now: datetime) -> None:
        settled = min(self.debt, grant.remaining)
        if settled == 0:
            return
        self._take(grant, settled, now)
        self.debt -= settled
        self._post("settlement", -settled, grant, None)
        self._post("debt_settled", settled, None, None)

    def expire(self, grant: GrantState, now: datetime) -> None:
        self._close(grant, "expired", "expiration", now)

    def void(self, grant: GrantState, now: datetime) -> None:
        self._close(grant, "voided", "void", now)

    def _close(self, grant: GrantState, status: str, entry_type: str, now: datetime) -> None:
        assert grant.status in OPEN_STATUSES, grant.status
        if grant.status == "active" and grant.remaining > 0:
            self._post(entry_type, -grant.remaining, grant, None)
        # A pending grant was never booked: it closes with no entry and nothing left.
        grant.remaining = 0
        grant.status, grant.closed_at = status, now
        self.changed.add(grant.id)

    # -- grants and usage ----------------------------------------------------------------

    def add_grant(self, grant: GrantState, now: datetime) -> None:
        assert grant.id not in self.grants and grant.status == "pending"
        grant.is_new = True
        self.grants[grant.id] = grant
        self.changed.add(grant.id)
        if grant.effective_at <= now:
            self.activate(grant, now)

    def consume(self, units: int, event_id: uuid.UUID, event_at: datetime, now: datetime) -> None:
        """Draw ``units`` for an event at ``event_at`` (rule 5): grants active at the event's
        time first, then grants active now, then debt (rule 1)."""
        assert units > 0
        usable = [g for g in self.grants.values() if g.status == "active" and g.remaining > 0]
        usable.sort(key=lambda g: (not g.active_at(event_at), burn_order(g)))
        left = units
        for grant in usable:
            take = min(grant.remaining, left)
            self._take(grant, take, now)
            self._post("consumption", -take, grant, event_id)
            left -= take
            if left == 0:
                return
        self.debt += left
        self._post("debt", -left, None, event_id)

    # -- reading -------------------------------------------------------------------------

    def check(self) -> None:
        """Invariants that hold after every operation (DESIGN rule 12, per account)."""
        booked = [g for g in self.grants.values() if g.status in ("active", "depleted")]
        assert self.debt >= 0
        assert self.balance == sum(g.remaining for g in booked) - self.debt, "balance drift"
        if self.debt > 0:
            assert not any(g.status == "active" and g.remaining for g in booked), "unpaid debt"
        for grant in self.grants.values():
            assert 0 <= grant.remaining <= grant.amount

    def available(self) -> int:
        return max(self.balance, 0)
