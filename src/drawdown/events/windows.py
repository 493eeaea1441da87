"""Usage windows: wall-clock periods of an IANA timezone, as UTC buckets and as one SQL
expression that gives each event its bucket's key with integer arithmetic only.

A bucket is the wall-clock minute, hour, day, week (Monday first) or month of the timezone,
clipped to the queried range. For minute to week, an event's key is its wall-clock time
(``timestamp`` + the offset in force then, chosen by a CASE over the offset changes inside
the range) divided by the period length. Months vary in length, so their key is a CASE over
the month boundaries. Across a DST change a day has 23 or 25 hours; the skipped hour of
spring has no bucket, the repeated hour of autumn is one bucket of two real hours."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import BigInteger, ColumnElement, case, literal, type_coerce

from drawdown.db.types import to_micros

__all__ = ["MAX_BUCKETS", "Bucket", "TooManyBuckets", "Window", "buckets", "key_sql"]

Window = Literal["minute", "hour", "day", "week", "month", "none"]
MAX_BUCKETS = 5000
_US = 1_000_000
_PERIOD_US = {"minute": 60 * _US, "hour": 3600 * _US, "day": 86400 * _US}
_NAIVE_EPOCH = datetime(1970, 1, 1)


class TooManyBuckets(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    end: datetime
    key: int


def _wall_us(wall: datetime) -> int:
    delta = wall - _NAIVE_EPOCH
    return (delta.days * 86400 + delta.seconds) * _US + delta.microseconds


def _floor(wall: datetime, window: Window) -> datetime:
    if window == "minute":
        return wall.replace(second=0, microsecond=0)
    if window == "hour":
        return wall.replace(minute=0, second=0, microsecond=0)
    day = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "day":
        return day
    if window == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next(wall: datetime, window: Window) -> datetime:
    if window == "month":
        return wall.replace(year=wall.year + wall.month // 12, month=wall.month % 12 + 1)
    if window == "week":
        return wall + timedelta(days=7)
    return wall + timedelta(microseconds=_PERIOD_US[window])


def wall_key(wall: datetime, window: Window) -> int:
    """The key SQL computes for events in the period starting at ``wall``."""
    if window == "week":
        return (_wall_us(wall) // _PERIOD_US["day"] + 3) // 7  # 1970-01-01 was a Thursday
    return _wall_us(wall) // _PERIOD_US[window]


def _to_utc(wall: datetime, tz: tzinfo) -> datetime:
    # fold=0: a wall time skipped by DST maps past the gap, so a skipped period is empty.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def buckets(time_from: datetime, time_to: datetime, window: Window, tz: tzinfo) -> list[Bucket]:
    """The buckets covering [time_from, time_to), in order; TooManyBuckets past the limit."""
    if window == "none":
        return [Bucket(time_from, time_to, 0)]
    out: list[Bucket] = []
    wall = _floor(time_from.astimezone(tz).replace(tzinfo=None), window)
    while True:
        following = _next(wall, window)
        start, end = _to_utc(wall, tz), _to_utc(following, tz)
        clipped = Bucket(max(start, time_from), min(end, time_to), 0)
        if clipped.start < clipped.end:
            key = len(out) if window == "month" else wall_key(wall, window)
            out.append(Bucket(clipped.start, clipped.end, key))
            if len(out) > MAX_BUCKETS:
                raise TooManyBuckets(f"more than {MAX_BUCKETS} buckets")
        if end >= time_to:
            return out
        wall = following


def _offset_us(instant: datetime, tz: tzinfo) -> int:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None
    return (offset.days * 86400 + offset.seconds) * _US + offset.microseconds


def _transitions(
    time_from: datetime, time_to: datetime, tz: tzinfo
) -> Iterator[tuple[datetime, int]]:
    """Each instant in the range where the offset changes, with the offset from then on.
    Offsets are sampled every 6 hours and each change is found to the second by bisection."""
    step = timedelta(hours=6)
    here, offset = time_from, _offset_us(time_from, tz)
    while here < time_to:
        there = min(here + step, time_to)
        if _offset_us(there, tz) != offset:
            low, high = here, there  # offset(low) == offset, offset(high) differs
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if _offset_us(middle, tz) == offset:
                    low = middle
                else:
                    high = middle
            offset = _offset_us(high, tz)
            yield high, offset
        here = there


def key_sql(
    ts: Any, time_from: datetime, time_to: datetime, window: Window, tz: tzinfo, found: list[Bucket]
) -> ColumnElement[Any]:
    """The SQL expression giving an event's bucket key (events already within the range)."""
    ts = type_coerce(ts, BigInteger)
    if window == "none":
        return literal(0)
    if window == "month":
        whens = [(ts < to_micros(b.end), literal(b.key)) for b in found[:-1]]
        last = literal(found[-1].key)
        return case(*whens, else_=last) if whens else last
    wall: Any = ts + _offset_us(time_from, tz)
    changes = list(_transitions(time_from, time_to, tz))
    if changes:
        whens = []
        previous = _offset_us(time_from, tz)
        for instant, offset in changes:
            whens.append((ts < to_micros(instant), ts + previous))
            previous = offset
        wall = case(*whens, else_=ts + previous)
    if window == "week":
        return (wall // _PERIOD_US["day"] + 3) // 7  # type: ignore[no-any-return]
    return wall // _PERIOD_US[window]  # type: ignore[no-any-return]
