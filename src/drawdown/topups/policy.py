"""The pure rules of top-ups: how much a rule tops up, whether its limits let it, and the
periods of a schedule. No I/O; amounts are integer base units.

A threshold rule looks at the account's *level*: the available balance (credits live now,
less debt, less what active holds reserve; signed, so debt counts in full) plus the top-ups
still pending. Counting pending top-ups (as Lago does) means one shortfall never fires twice
while its charge is in flight. The rule fires when the level is at or below its threshold:

- ``fixed``: the smallest whole multiple of ``amount`` that lifts the level above the
  threshold (one multiple when the gap is smaller than ``amount``);
- ``target``: exactly what lifts the level to ``target_balance``.

Limits, each checked on the rule's own top-ups for this customer: at most ``max_per_day``
top-ups and ``max_amount_per_day`` credits (pending or succeeded) in any 24 hours (a fixed
top-up drops multiples to fit, a target one is cut to fit), none within ``cooldown_s`` of the
last one, and none within ``decline_backoff_s`` of a failed or expired one unless one has
succeeded since."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "DAY",
    "INTERVAL_MONTHS",
    "Duration",
    "History",
    "Limits",
    "add_duration",
    "add_months",
    "fire_amount",
    "limited_amount",
    "parse_duration",
    "period_start",
    "schedule_amount",
]

DAY = timedelta(days=1)
# Calendar intervals in months; day and week are fixed lengths.
INTERVAL_MONTHS = {"month": 1, "quarter": 3, "semiannual": 6, "year": 12}
INTERVAL_LENGTHS = {"day": timedelta(days=1), "week": timedelta(weeks=1)}


@dataclass(frozen=True, slots=True)
class Limits:
    max_per_day: int | None = None
    max_amount_per_day: int | None = None
    cooldown_s: int = 0
    decline_backoff_s: int = 3600


@dataclass(frozen=True, slots=True)
class History:
    """What a rule has done for one customer, as it bears on its next top-up."""

    # This rule's top-ups of the last 24 hours: how many, and their amount (not declined).
    count_24h: int = 0
    amount_24h: int = 0
    last_created_at: datetime | None = None
    # The last failed or expired one, and the last succeeded one (settled_at).
    last_declined_at: datetime | None = None
    last_succeeded_at: datetime | None = None


def fire_amount(
    method: str,
    threshold: int,
    amount: int | None,
    target_balance: int | None,
    level: int,
) -> int:
    """What a threshold rule tops up at this level (available + pending); 0 above it."""
    if level > threshold:
        return 0
    if method == "fixed":
        assert amount is not None and amount > 0
        return ((threshold - level) // amount + 1) * amount
    assert target_balance is not None and target_balance > threshold
    return target_balance - level


def schedule_amount(method: str, amount: int | None, target_balance: int | None, level: int) -> int:
    """A scheduled run: ``amount``, or what lifts the level to the target (0 if above)."""
    if method == "fixed":
        assert amount is not None
        return amount
    assert target_balance is not None
    return max(target_balance - level, 0)


def limited_amount(
    units: int, method: str, amount: int | None, limits: Limits, history: History, now: datetime
) -> int:
    """``units`` as the rule's limits allow it now (0: not now)."""
    if units <= 0:
        return 0
    if limits.max_per_day is not None and history.count_24h >= limits.max_per_day:
        return 0
    last = history.last_created_at
    if last is not None and now < last + timedelta(seconds=limits.cooldown_s):
        return 0
    declined, succeeded = history.last_declined_at, history.last_succeeded_at
    backoff = timedelta(seconds=limits.decline_backoff_s)
    in_backoff = declined is not None and now < declined + backoff
    if in_backoff and (succeeded is None or (declined is not None and succeeded <= declined)):
        return 0
    if limits.max_amount_per_day is not None:
        room = max(limits.max_amount_per_day - history.amount_24h, 0)
        if method == "fixed":
            assert amount is not None
            units = min(units, room // amount * amount)
        else:
            units = min(units, room)
    return units


# -- durations and periods ----------------------------------------------------------------

_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)
MAX_DURATION_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Duration:
    months: int
    delta: timedelta


def parse_duration(text: str) -> Duration | None:
    """An ISO 8601 duration (``P90D``, ``P1M``, ``PT12H``, ``P1Y2M``); None if it is not
    one, or is zero, or is longer than about ten years."""
    match = _DURATION.match(text)
    if match is None:
        return None
    years, months, weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total_months = years * 12 + months
    delta = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if total_months == 0 and delta == timedelta(0):
        return None
    if total_months * 31 + delta.days > MAX_DURATION_DAYS:
        return None
    return Duration(total_months, delta)


def add_months(when: datetime, months: int, day: int | None = None) -> datetime:
    """``when`` moved by whole months; the day of month (``day``, default ``when``'s) is
    clamped to the month's last day (Jan 31 + 1 month = Feb 28 or 29)."""
    index = when.year * 12 + (when.month - 1) + months
    year, month = divmod(index, 12)
    last = monthrange(year, month + 1)[1]
    return when.replace(year=year, month=month + 1, day=min(day or when.day, last))


def add_duration(when: datetime, duration: Duration) -> datetime:
    return add_months(when, duration.months) + duration.delta


def _start(interval: str, anchor: datetime, index: int) -> datetime:
    if interval in INTERVAL_LENGTHS:
        return anchor + INTERVAL_LENGTHS[interval] * index
    # Counted from the anchor each time, so Jan 31 -> Feb 28 -> Mar 31 (no drift).
    return add_months(anchor, INTERVAL_MONTHS[interval] * index, anchor.day)


def period_start(interval: str, anchor: datetime, now: datetime) -> tuple[datetime, datetime]:
    """(start of the period ``now`` is in, start of the next one). Before the anchor the
    first period is the next one: (anchor, anchor)."""
    if now < anchor:
        return anchor, anchor
    if interval in INTERVAL_LENGTHS:
        index = (now - anchor) // INTERVAL_LENGTHS[interval]
    else:
        step = INTERVAL_MONTHS[interval]
        index = ((now.year - anchor.year) * 12 + now.month - anchor.month) // step
        while index > 0 and _start(interval, anchor, index) > now:
            index -= 1
        while _start(interval, anchor, index + 1) <= now:
            index += 1
    return _start(interval, anchor, index), _start(interval, anchor, index + 1)
