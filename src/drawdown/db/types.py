"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from drawdown.clock import from_micros, to_micros

__all__ = ["JSONType", "Timestamp", "from_micros", "to_micros"]

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Timestamp(TypeDecorator[datetime]):
    """An aware UTC datetime stored as integer microseconds since the epoch.

    Integers compare, index and bucket identically on both backends, so usage windows are
    the same arithmetic in SQLite and PostgreSQL, and no timezone is ever lost."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None or isinstance(value, int):
            return value
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(int(value))
