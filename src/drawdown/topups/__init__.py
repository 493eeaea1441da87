"""Top-ups: grants made by a rule (a threshold or a schedule) or by hand, settled at once
(``auto``) or after the operator's own charge succeeds (``external``: a pending top-up, the
``topup.requested`` webhook, then ``confirm`` or ``fail``). See docs/topups.md.

Credits never imports this package: the application's wiring calls :func:`install`, which
adds the threshold rules to every credits unit of work and returns the clock passes
(schedule runs, expiry of pending top-ups) for the background clock."""

from __future__ import annotations

from drawdown.config import Settings
from drawdown.credits.clock import ClockPass
from drawdown.credits.work import add_finish_step

__all__ = ["install"]


def install(settings: Settings) -> list[ClockPass]:
    """Turn threshold rules on in this process; the passes the clock must run."""
    from drawdown.topups.clock import clock_passes
    from drawdown.topups.threshold import STEP

    STEP.default_ttl_s = settings.topup_pending_ttl_s
    add_finish_step(STEP)
    return clock_passes(settings)
