"""Per-key limits: requests per second and ingested events per second, each a token bucket.

The buckets live in each server process, each with the limit divided by the number of
worker processes (``DRAWDOWN_WORKERS``), so one host enforces about the configured figure
in all; with several hosts each enforces its own (N hosts allow up to N times the limit).
Nothing is counted in the database: a limit costs no round trip. A refused call gets a 429
in its surface's error shape with ``Retry-After`` and the ``RateLimit-*`` headers (added by
the request middleware from ``request.state``, so every surface gets them)."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drawdown.errors import RateLimitedError
from drawdown.ops import metrics

if TYPE_CHECKING:
    from drawdown.http.deps import RequestContext

__all__ = ["KeyLimits", "Limits", "TokenBuckets", "charge_events"]

MAX_TRACKED_KEYS = 10_000  # least recently used keys beyond this start afresh


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


class TokenBuckets:
    """One bucket per key: ``rate_per_s`` tokens a second, holding at most ``burst``."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: OrderedDict[uuid.UUID, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: uuid.UUID, cost: float, now_s: float | None = None) -> tuple[float, float]:
        """(seconds to wait, tokens left): 0 seconds means the cost was taken."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now_s)
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_TRACKED_KEYS:
                self._buckets.popitem(last=False)
            elapsed = max(0.0, now_s - bucket.updated_s)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate_per_s)
            bucket.updated_s = now_s
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0, bucket.tokens
            return (cost - bucket.tokens) / self.rate_per_s, bucket.tokens


class Limits:
    """The process's buckets, built from the settings (0 turns a limit off)."""

    def __init__(
        self, requests_per_s: float, burst: int, events_per_s: float, workers: int, batch: int
    ) -> None:
        share = max(1, workers)
        self.requests = (
            TokenBuckets(requests_per_s / share, max(1.0, burst / share))
            if requests_per_s
            else None
        )
        # A full batch must always fit, or it could never pass.
        self.events = (
            TokenBuckets(events_per_s / share, max(float(batch), events_per_s / share))
            if events_per_s
            else None
        )

    def bind(self, key: uuid.UUID, state: Any) -> KeyLimits:
        return KeyLimits(self, key, state)


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """The limits of one caller in one request."""

    limits: Limits
    key: uuid.UUID
    state: Any  # request.state: where the 429 headers are left for the middleware

    def charge_request(self) -> None:
        self._charge(self.limits.requests, 1, "requests")

    def charge_events(self, count: int) -> None:
        self._charge(self.limits.events, count, "events")

    def _charge(self, buckets: TokenBuckets | None, cost: int, kind: str) -> None:
        if buckets is None or cost <= 0:
            return
        wait_s, left = buckets.take(self.key, cost)
        if wait_s == 0:
            return
        retry_after_s = max(1, math.ceil(wait_s))
        self.state.rate_limit_headers = [
            (b"retry-after", str(retry_after_s).encode()),
            (b"ratelimit-limit", str(math.floor(buckets.burst)).encode()),
            (b"ratelimit-remaining", str(math.floor(left)).encode()),
            (b"ratelimit-reset", str(retry_after_s).encode()),
        ]
        metrics.RATE_LIMITED.labels(kind).inc()
        unit = "requests" if kind == "requests" else "events"
        raise RateLimitedError(
            f"This API key is over its limit of {buckets.rate_per_s:g} {unit} per second on "
            f"this server process; retry after {retry_after_s} s",
            retry_after_s=retry_after_s,
        )


def charge_events(ctx: RequestContext, count: int) -> None:
    """Take ``count`` events from the caller's ingest bucket, or raise 429 (before anything
    is stored). Callers without an API key (a Payment Kit component signature) are not
    limited."""
    if ctx.limits is not None:
        ctx.limits.charge_events(count)
