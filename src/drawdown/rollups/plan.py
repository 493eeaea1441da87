"""Which rows answer a usage query: each output bucket is cut into the largest pieces that
whole rollup buckets cover (days, then hours, then 15 minutes) and the ragged edges left
over, which the query reads from raw events."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_RANGES", "Plan", "split"]

# More distinct ranges than this for one period and the raw query is simpler and as fast.
MAX_RANGES = 64
_US = 1_000_000


@dataclass(slots=True)
class Plan:
    # period_s -> merged [start_us, end_us) ranges of bucket starts read at that period
    ranges: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # [start_us, end_us) ranges of event timestamps read from raw events
    raw: list[tuple[int, int]] = field(default_factory=list)


def _cut(start: int, end: int, periods_s: tuple[int, ...], plan: Plan) -> None:
    if start >= end:
        return
    if not periods_s:
        plan.raw.append((start, end))
        return
    span = periods_s[0] * _US
    low, high = -(-start // span) * span, end // span * span
    if low >= high:
        _cut(start, end, periods_s[1:], plan)
        return
    plan.ranges.setdefault(periods_s[0], []).append((low, high))
    _cut(start, low, periods_s[1:], plan)
    _cut(high, end, periods_s[1:], plan)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and out[-1][1] == low:
            out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return out


def split(bounds: list[tuple[int, int]], periods_s: tuple[int, ...]) -> Plan | None:
    """The plan for output buckets ``bounds`` ([start_us, end_us), in UTC microseconds),
    ``periods_s`` coarsest first; None when rollups would not help (nothing whole is
    covered, or the pieces scatter into too many ranges)."""
    plan = Plan()
    for start, end in bounds:
        _cut(start, end, periods_s, plan)
    if not plan.ranges:
        return None
    plan.ranges = {period: _merge(ranges) for period, ranges in plan.ranges.items()}
    plan.raw = _merge(plan.raw)
    if len(plan.raw) > MAX_RANGES or any(len(r) > MAX_RANGES for r in plan.ranges.values()):
        return None
    return plan
