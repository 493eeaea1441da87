"""The source of "now". Rules that depend on time (the event window, grant activation and
expiry) read it from a :class:`Clock` handed to them, so tests move time by setting a
:class:`ManualClock` rather than patching anything."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "from_micros", "to_micros", "utcnow"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_micros(value: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (how instants are stored)."""
    assert value.tzinfo is not None, "timestamps are always timezone-aware"
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    # One timedelta addition: 2.4x faster than fromtimestamp().replace(), and every row
    # read (grants on each ingest batch, events in lists) converts its timestamps.
    return _EPOCH + timedelta(microseconds=value)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class ManualClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, value: datetime) -> None:
        assert value.tzinfo is not None
        with self._lock:
            self._now = value

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now
