"""A partial aggregate: what sum, count, avg, min and max need, mergeable in any order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from drawdown.db.sqlite_functions import DECIMAL_PRECISION
from drawdown.money import to_decimal

__all__ = ["INT_LIMIT", "ROLLED_FUNCS", "Partial"]

# Aggregations the rollups answer; unique and latest read raw events.
ROLLED_FUNCS = frozenset({"count", "sum", "avg", "min", "max"})
# Integers below this go to the native integer part of the sum, which then cannot overflow
# a signed 64-bit column before 2^23 such values share one row; others are summed as decimals.
INT_LIMIT = 1 << 40


@dataclass(slots=True)
class Partial:
    n_events: int = 0
    n_values: int = 0
    int_total: int = 0
    dec_total: Decimal | None = None
    # int, float or Decimal: compared as numbers, stored as the backend's number.
    min_value: Any = None
    max_value: Any = None

    def add_event(self, value: Any) -> None:
        """One matched event; ``value`` its numeric property or None."""
        self.n_events += 1
        if value is None:
            return
        self.n_values += 1
        if isinstance(value, int) and -INT_LIMIT < value < INT_LIMIT:
            self.int_total += value
        else:
            self._add_decimal(to_decimal(value))
        if self.min_value is None or value < self.min_value:
            self.min_value = value
        if self.max_value is None or value > self.max_value:
            self.max_value = value

    def _add_decimal(self, number: Decimal) -> None:
        with localcontext(prec=DECIMAL_PRECISION):
            self.dec_total = number if self.dec_total is None else self.dec_total + number

    def merge(self, other: Partial) -> None:
        self.n_events += other.n_events
        self.n_values += other.n_values
        self.int_total += other.int_total
        if other.dec_total is not None:
            self._add_decimal(other.dec_total)
        if other.min_value is not None and (
            self.min_value is None or other.min_value < self.min_value
        ):
            self.min_value = other.min_value
        if other.max_value is not None and (
            self.max_value is None or other.max_value > self.max_value
        ):
            self.max_value = other.max_value

    def value(self, func: str) -> Decimal | None:
        """The aggregation's answer, as the raw-event query computes it."""
        if func == "count":
            return Decimal(self.n_events)
        if func in ("min", "max"):
            found = self.min_value if func == "min" else self.max_value
            return None if found is None else to_decimal(found)
        total = Decimal(self.int_total) + (self.dec_total or Decimal(0))
        if func == "sum":
            return total
        return None if not self.n_values else total / Decimal(self.n_values)
