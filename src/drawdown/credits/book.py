"""The credit engine's pure core: one account's grants and debt, and the entries that move
them. No I/O. The writer (drawdown, the clock, grant operations) and the readers (balances,
access checks) run the same code, so what a read reports is exactly what the next write
would book.

Order of grants: priority ascending, then expiry soonest first (never last),
then promotional before paid, then effective_at, then creation order (the time-ordered id).

Expiry grace: a writer books a grant's expiration ``grace`` after its expires_at, so
a late event stamped before expires_at still draws from it; readers pass no grace, so a
grant reads as expired from expires_at on and a late event drawing from it moves no
available balance.

Holds reserve part of the available balance; they are not ledger entries.
``available = remaining of grants live now - debt - active holds``, never below zero.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["NO_GRACE", "Book", "EntryDraft", "GrantState", "HoldState", "burn_order"]

OPEN_STATUSES = ("pending", "active")
NO_GRACE = timedelta(0)


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

    def live_at(self, now: datetime | None) -> bool:
        """Active and not past expires_at (a grant in its expiry grace is not live)."""
        if self.status != "active":
            return False
        return now is None or self.expires_at is None or now < self.expires_at


@dataclass(slots=True)
class HoldState:
    """A reservation of available credits. ``amount`` is what is held."""

    id: uuid.UUID
    amount: int
    expires_at: datetime
    status: str = "active"
    captured_amount: int | None = None
    debt_incurred: int = 0
    event_id: uuid.UUID | None = None
    reason: str | None = None
    resolved_at: datetime | None = None
    is_new: bool = False
    # Carried for the hold.* webhook events only; the rules never read it.
    metadata: dict[str, Any] | None = None

    def counts_at(self, now: datetime | None) -> bool:
        """Still reserving: active and not past expires_at (expiry is read lazily)."""
        return self.status == "active" and (now is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class EntryDraft:
    sequence: int
    type: str
    amount: int
    balance_after: int
    grant_id: uuid.UUID | None
    event_id: uuid.UUID | None
    reason: str | None = None


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
    # Active holds; None when the writer did not load them (ingest never needs them).
    holds: dict[uuid.UUID, HoldState] | None = None
    changed_holds: set[uuid.UUID] = field(default_factory=set)

    # -- posting -------------------------------------------------------------------------

    def _post(
        self,
        type_: str,
        amount: int,
        grant: GrantState | None,
        event_id: uuid.UUID | None,
        reason: str | None = None,
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
                reason,
            )
        )

    def _take(self, grant: GrantState, units: int, now: datetime) -> None:
        assert 0 < units <= grant.remaining
        grant.remaining -= units
        if grant.remaining == 0:
            grant.status, grant.closed_at = "depleted", now
        self.changed.add(grant.id)

    # -- the clock -----------------------------------------------------------------------

    def catch_up(self, now: datetime, grace: timedelta = NO_GRACE) -> None:
        """Apply every activation and expiry due by ``now``, in time order, so that a grant
        that was briefly active while nobody looked still paid debt (debt is paid first)
        before its remainder expired. A writer passes the expiry ``grace``: a grant
        past expires_at stays open, for late events only, until expires_at + grace. Holds
        past their expires_at expire."""
        due: list[tuple[datetime, int, GrantState]] = []
        for grant in self.grants.values():
            if grant.status == "pending" and grant.effective_at <= now:
                due.append((grant.effective_at, 0, grant))
            expires_at = grant.expires_at
            if grant.status in OPEN_STATUSES and expires_at and expires_at + grace <= now:
                due.append((expires_at, 1, grant))
        for _, kind, grant in sorted(due, key=lambda item: (item[0], item[1], item[2].id)):
            if kind == 0:
                self.activate(grant, now)
            elif grant.status in OPEN_STATUSES:  # paying debt may have depleted it
                self.expire(grant, now)
        for hold in (self.holds or {}).values():
            if hold.status == "active" and hold.expires_at <= now:
                self.resolve_hold(hold, "expired", now)

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

    def void(self, grant: GrantState, now: datetime, reason: str | None = None) -> None:
        self._close(grant, "voided", "void", now, reason)

    def _close(
        self,
        grant: GrantState,
        status: str,
        entry_type: str,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        assert grant.status in OPEN_STATUSES, grant.status
        if grant.status == "active" and grant.remaining > 0:
            self._post(entry_type, -grant.remaining, grant, None, reason)
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
        """Draw ``units`` for an event at ``event_at``: grants active at the event's time
        first, then grants active now, then debt (usage is never refused)."""
        assert units > 0
        # A grant in its expiry grace serves only events stamped before its expires_at.
        usable = [
            g
            for g in self.grants.values()
            if g.status == "active"
            and g.remaining > 0
            and (g.live_at(now) or g.active_at(event_at))
        ]
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

    # -- holds ----------------------------------------------------------------------------

    def _open_holds(self) -> dict[uuid.UUID, HoldState]:
        assert self.holds is not None, "this book was loaded without its holds"
        return self.holds

    def held(self, now: datetime | None = None) -> int:
        return sum(h.amount for h in self._open_holds().values() if h.counts_at(now))

    def place_hold(self, hold: HoldState, min_amount: int, now: datetime) -> bool:
        """Reserve up to ``hold.amount``: all of it when it fits the available balance,
        else what is available if that is at least ``min_amount``. False when it cannot
        (nothing changes); otherwise ``hold.amount`` is what was reserved."""
        assert 0 < min_amount <= hold.amount and hold.status == "active"
        reserved = min(self.available(now), hold.amount)
        if reserved < min_amount:
            return False
        hold.amount, hold.is_new = reserved, True
        self._open_holds()[hold.id] = hold
        self.changed_holds.add(hold.id)
        return True

    def resolve_hold(
        self, hold: HoldState, status: str, now: datetime, reason: str | None = None
    ) -> None:
        """active -> captured | released | expired, once."""
        assert hold.status == "active" and status in ("captured", "released", "expired")
        hold.status, hold.resolved_at, hold.reason = status, now, reason
        self.changed_holds.add(hold.id)

    def capture(
        self,
        hold: HoldState,
        units: int,
        event_id: uuid.UUID | None,
        event_at: datetime,
        now: datetime,
    ) -> None:
        """Release the hold and draw ``units`` for its event in the normal order;
        what the grants cannot cover (one expired since the hold) becomes debt."""
        self.resolve_hold(hold, "captured", now)
        debt_before = self.debt
        if units > 0:
            assert event_id is not None
            self.consume(units, event_id, event_at, now)
        hold.captured_amount, hold.event_id = units, event_id
        hold.debt_incurred = self.debt - debt_before

    # -- reading -------------------------------------------------------------------------

    def check(self, now: datetime | None = None) -> None:
        """Ledger invariants after every operation (per account: entries sum to the balance,
        each booked grant's entries to its remaining, 0 <= remaining <= amount)."""
        booked = [g for g in self.grants.values() if g.status in ("active", "depleted")]
        assert self.debt >= 0
        assert self.balance == sum(g.remaining for g in booked) - self.debt, "balance drift"
        if self.debt > 0:
            # Only a grant in its expiry grace may keep credits while debt is owed.
            live = [g for g in booked if g.remaining and g.live_at(now)]
            assert not live, "unpaid debt"
        for grant in self.grants.values():
            assert 0 <= grant.remaining <= grant.amount
        for hold in (self.holds or {}).values():
            assert hold.amount > 0

    def live_remaining(self, now: datetime | None = None) -> int:
        return sum(g.remaining for g in self.grants.values() if g.live_at(now))

    def available(self, now: datetime | None = None) -> int:
        """What can be drawn or held now: live remaining - debt - active holds, >= 0."""
        held = self.held(now) if self.holds is not None else 0
        return max(self.live_remaining(now) - self.debt - held, 0)
