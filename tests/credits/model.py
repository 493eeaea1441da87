"""A small reference model of the credit rules (DESIGN section 3), written apart from the
engine, for the state-machine test. Amounts are integer cents; times are datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass
class MAccount:
    grants: list[MGrant] = field(default_factory=list)
    debt: int = 0

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
                and g.expires_at <= now
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
        live = [g for g in self.grants if g.status == "active" and g.remaining > 0]

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
        if grant.status not in ("pending", "active"):
            return False
        grant.status, grant.remaining = status, 0
        if status == "expired" and (grant.expires_at is None or grant.expires_at > now):
            grant.expires_at = now
        return True

    def available(self, now: datetime) -> int:
        self.advance(now)
        return sum(g.remaining for g in self.grants if g.status == "active")
