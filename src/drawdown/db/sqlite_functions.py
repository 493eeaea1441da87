"""SQL functions SQLite lacks, registered on every SQLite connection: exact decimal
arithmetic over decimal text (usage rollups keep non-integer sums that way)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal, localcontext

__all__ = ["DECIMAL_PRECISION", "register"]

# Digits kept by decimal sums on SQLite (PostgreSQL's NUMERIC is exact).
DECIMAL_PRECISION = 60


def _add(left: str | None, right: str | None) -> str | None:
    if left is None:
        return right
    if right is None:
        return left
    with localcontext(prec=DECIMAL_PRECISION):
        return str(Decimal(left) + Decimal(right))


class _Sum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | int | float | None) -> None:
        if value is None:
            return
        with localcontext(prec=DECIMAL_PRECISION):
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            self.total = number if self.total is None else self.total + number

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("dd_dec_add", 2, _add, deterministic=True)
    conn.create_aggregate("dd_dec_sum", 1, _Sum)  # type: ignore[arg-type]
