"""Payment Kit's scalar conventions: unix-second integers for business times, ISO-8601
strings with milliseconds for ``created_at``/``updated_at`` (Sequelize DATE rendered by
``Date.toJSON``), and integer base-unit strings for amounts."""

from __future__ import annotations

from datetime import UTC, datetime

from drawdown.clock import to_micros

__all__ = ["MAX_UNIX_S", "from_unix", "iso_ms", "unix_s"]

# 9999-12-31T23:59:59Z: the last second every backend and Python can represent.
MAX_UNIX_S = 253_402_300_799


def unix_s(value: datetime | None) -> int | None:
    """Seconds since the epoch, rounded down (Payment Kit stores INTEGER seconds)."""
    return None if value is None else to_micros(value) // 1_000_000


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def iso_ms(value: datetime) -> str:
    """``2025-08-07T10:00:00.000Z``, the way JavaScript serializes a Date."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
