"""When to try again: the Standard Webhooks schedule (10 attempts over about 75 hours),
each delay jittered by up to 20% either way, and a receiver's ``Retry-After`` honoured
(up to 24 hours) when it asks for longer."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["MAX_ATTEMPTS", "RETRY_DELAYS", "next_delay", "parse_retry_after"]

# Delay before attempt n+1 after attempt n failed (attempt 1 is immediate).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
MAX_RETRY_AFTER = timedelta(hours=24)


def next_delay(
    attempts_made: int, rng: random.Random, retry_after: timedelta | None = None
) -> timedelta | None:
    """The wait after ``attempts_made`` failed attempts, or None when none are left."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[attempts_made - 1]
    delay = base * (1 + rng.uniform(-JITTER, JITTER))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
