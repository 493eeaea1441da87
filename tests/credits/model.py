"""A small reference model of the credit rules, written apart from the
engine, for the state-machine test. Amounts are integer cents; times are datetimes.

Grants move as the writer books them (an expiration ``grace`` after expires_at);
reads see a grant past its expires_at as expired. Holds reserve available
credits until captured, released or expired."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

GRACE = timedelta(hours=1)


@dataclass
class MGrant:
    key: str
    amount: int
    priority: int
    category: str
    effective_at: datetime
    expires_at: datetime | None
    created: int
    remaining: int = 0
    status: str = "pending"

    def __post_init__(self) -> None:
        self.remaining = self.amount

    def read(self, now: datetime) -> tuple[str, int]:
        """(status, remaining) as a reader sees them at ``now``."""
        if self.status in ("pending", "active") and self.past(now):
            return "expired", 0
        return self.status, self.remaining

    def past(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass
class MHold:
    amount: int
    expires_at: datetime
    status: str = "active"

    def counts(self, now: datetime) -> bool:
        return self.status == "active" and now < self.expires_at


@dataclass
class MAccount:
    grants: list[MGrant] = field(default_factory=list)
    debt: int = 0
    holds: list[MHold] = field(default_factory=list)

    def _activate(self, grant: MGrant) -> None:
        grant.status = "active"
        paid = min(self.debt, grant.remaining)
        self.debt -= paid
        grant.remaining -= paid
        if grant.remaining == 0:
            grant.status = "depleted"

    def advance(self, now: datetime) -> None:
        """Everything due by ``now``, in time order (activation before expiry at a tie)."""
        while True:
            due = [
                (g.effective_at, 0, g.created, g)
                for g in self.grants
                if g.status == "pending" and g.effective_at <= now
            ]
            due += [
                (g.expires_at, 1, g.created, g)
                for g in self.grants
                if g.status in ("pending", "active")
                and g.expires_at is not None
                and g.expires_at + GRACE <= now
            ]
            if not due:
                return
            _, kind, _, grant = min(due, key=lambda d: (d[0], d[1], d[2]))
            if kind == 0:
                self._activate(grant)
            else:
                grant.status, grant.remaining = "expired", 0

    def add(self, grant: MGrant, now: datetime) -> None:
        self.advance(now)
        self.grants.append(grant)
        self.advance(now)

    def consume(self, units: int, at: datetime, now: datetime) -> None:
        self.advance(now)

        def usable(g: MGrant) -> bool:
            # In its grace a grant serves only events from before its expires_at.
            live_then = g.effective_at <= at and (g.expires_at is None or at < g.expires_at)
            return g.status == "active" and g.remaining > 0 and (not g.past(now) or live_then)

        live = [g for g in self.grants if usable(g)]

        def order(g: MGrant) -> tuple[object, ...]:
            active_then = g.effective_at <= at and (g.expires_at is None or at < g.expires_at)
            expiry = g.expires_at.timestamp() if g.expires_at else float("inf")
            return (
                not active_then,
                g.priority,
                expiry,
                g.category == "paid",
                g.effective_at,
                g.created,
            )

        for grant in sorted(live, key=order):
            take = min(units, grant.remaining)
            grant.remaining -= take
            units -= take
            if grant.remaining == 0:
                grant.status = "depleted"
            if units == 0:
                break
        self.debt += units

    def close(self, grant: MGrant, status: str, now: datetime) -> bool:
        self.advance(now)
        if grant.read(now)[0] not in ("pending", "active"):
            return False
        grant.status, grant.remaining = status, 0
        if status == "expired" and (grant.expires_at is None or grant.expires_at > now):
            grant.expires_at = now
        return True

    def live_remaining(self, now: datetime) -> int:
        self.advance(now)
        return sum(g.read(now)[1] for g in self.grants if g.read(now)[0] == "active")

    def held(self, now: datetime) -> int:
        return sum(h.amount for h in self.holds if h.counts(now))

    def available(self, now: datetime) -> int:
        return max(self.live_remaining(now) - self.debt - self.held(now), 0)

    # -- holds ---------------------------------------------------------------------------

    def hold(
        self, requested: int, minimum: int, expires_at: datetime, now: datetime
    ) -> MHold | None:
        """The hold placed, or None when even ``minimum`` does not fit (402)."""
        reserved = min(self.available(now), requested)
        if reserved < minimum:
            return None
        placed = MHold(reserved, expires_at)
        self.holds.append(placed)
        return placed

    def hold_status(self, hold: MHold, now: datetime) -> str:
        return "expired" if hold.status == "active" and not hold.counts(now) else hold.status

    def release(self, hold: MHold, now: datetime) -> str:
        """ "released", or the status that refuses it."""
        status = self.hold_status(hold, now)
        if status != "active":
            return status
        hold.status = "released"
        return "done"

    def capture(self, hold: MHold, units: int, at: datetime, now: datetime, overage: bool) -> str:
        """ "captured", "exceeds" (422), or the status that refuses it (409)."""
        self.advance(now)
        status = self.hold_status(hold, now)
        if status != "active":
            return status
        if units > hold.amount and not overage:
            return "exceeds"
        hold.status = "captured"
        if units:
            self.consume(units, at, now)
        return "done"


@dataclass
class MTopup:
    """A manual top-up (settled at once, or pending until confirmed or failed)."""

    amount: int
    category: str
    lifetime: timedelta | None
    expires_at: datetime | None  # pending only
    status: str = "pending"

    def read(self, now: datetime) -> str:
        if self.status == "pending" and self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return self.status

    def grant(self, key: str, now: datetime, created: int) -> MGrant:
        """The grant it makes when it succeeds (effective now, priority 50)."""
        expires_at = now + self.lifetime if self.lifetime is not None else None
        return MGrant(key, self.amount, 50, self.category, now, expires_at, created)
