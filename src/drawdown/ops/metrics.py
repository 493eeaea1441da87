"""The Prometheus metrics: every metric drawdown exports is declared in this module.

Adding one (other domains do this; ``drawdown_`` names, no per-customer labels)::

    from drawdown.ops import metrics

    # here, beside the others:
    HOLDS_TOTAL = Counter("drawdown_holds", "Holds closed, by outcome", ("outcome",))

    # where it happens (a no-op unless metrics are on):
    metrics.HOLDS_TOTAL.labels("captured").inc()

Conventions: names start with ``drawdown_``; counters are declared without ``_total``
(prometheus-client appends it); units are base units in the name (``_seconds``); labels
have few values: a route template, an outcome, a surface, never a customer, event or key id
and never a money amount. Gauges say how to combine worker processes
(``multiprocess_mode``: ``livesum`` for "how many now", ``max`` for constants).

The declarations are cheap stand-ins until :func:`enable` runs (``create_app`` calls it when
``DRAWDOWN_METRICS_TOKEN`` is set): only then is ``prometheus_client`` (the
``drawdown[metrics]`` extra) imported and the real metrics made, so a server without the
token, or without the extra, pays one attribute check per call. With several worker
processes ``drawdown serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory
before the workers start, and a scrape of any worker reads every worker's samples."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Protocol

__all__ = [
    "BATCH_SIZE",
    "BUILD_INFO",
    "DB_POOL_CONNECTIONS",
    "DRAWDOWN_DURATION",
    "EVENTS_INGESTED",
    "GRANTS",
    "LEDGER_ENTRIES",
    "RATE_LIMITED",
    "REQUESTS",
    "REQUEST_DURATION",
    "TOPUPS",
    "Counter",
    "CounterChild",
    "Gauge",
    "GaugeChild",
    "Histogram",
    "HistogramChild",
    "MetricsUnavailable",
    "Surface",
    "count_ingest",
    "count_ledger_writes",
    "count_rejected",
    "current_surface",
    "enable",
    "enabled",
    "observe_request",
    "process_stopped",
    "render",
    "surface_of",
]

Surface = Literal["native", "polar", "paymentkit", "dashboard"]
# Set per request by the request middleware, read by the ingest counters.
_surface: contextvars.ContextVar[Surface] = contextvars.ContextVar(
    "drawdown_surface", default="native"
)


def current_surface() -> Surface:
    """Which API the current request came in through."""
    return _surface.get()


def surface_of(path: str) -> Surface:
    if path.startswith("/polar/"):
        return "polar"
    if path.startswith("/paymentkit/"):
        return "paymentkit"
    if path.startswith("/dashboard"):
        return "dashboard"
    return "native"


class MetricsUnavailable(RuntimeError):
    """DRAWDOWN_METRICS_TOKEN is set but prometheus-client is not installed."""


class CounterChild(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class HistogramChild(Protocol):
    def observe(self, amount: float) -> None: ...


class GaugeChild(Protocol):
    def inc(self, amount: float = 1) -> None: ...
    def dec(self, amount: float = 1) -> None: ...
    def set(self, value: float) -> None: ...


class _Noop:
    def inc(self, amount: float = 1) -> None:
        pass

    def dec(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


_NOOP = _Noop()
_DECLARED: list[_Metric] = []
_state: dict[str, Any] = {"enabled": False}


class _Metric:
    kind: ClassVar[str]

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), **options: Any
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.options = options
        self._real: Any = None
        _DECLARED.append(self)

    def _make(self, prometheus_client: Any) -> None:
        cls = getattr(prometheus_client, self.kind)
        self._real = cls(self.name, self.documentation, self.labelnames, **self.options)

    def _child(self, values: tuple[str, ...]) -> Any:
        if self._real is None:
            return _NOOP
        return self._real.labels(*values) if values else self._real


class Counter(_Metric):
    kind = "Counter"

    def labels(self, *values: str) -> CounterChild:
        child: CounterChild = self._child(values)
        return child

    def inc(self, amount: float = 1) -> None:
        self.labels().inc(amount)


class Histogram(_Metric):
    kind = "Histogram"

    def labels(self, *values: str) -> HistogramChild:
        child: HistogramChild = self._child(values)
        return child

    def observe(self, amount: float) -> None:
        self.labels().observe(amount)


class Gauge(_Metric):
    kind = "Gauge"

    def labels(self, *values: str) -> GaugeChild:
        child: GaugeChild = self._child(values)
        return child


_LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUESTS = Counter(
    "drawdown_http_requests",
    "HTTP requests by method, route template and status class (2xx, 4xx, ...)",
    ("method", "route", "status_class"),
)
REQUEST_DURATION = Histogram(
    "drawdown_http_request_duration_seconds",
    "HTTP request latency by method and route template",
    ("method", "route"),
    buckets=_LATENCY_BUCKETS_S,
)
EVENTS_INGESTED = Counter(
    "drawdown_events_ingested",
    "Events by outcome (inserted, duplicate, rejected) and surface (native, polar, paymentkit)",
    ("outcome", "surface"),
)
BATCH_SIZE = Histogram(
    "drawdown_ingest_batch_size",
    "Events per ingest batch",
    ("surface",),
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
DRAWDOWN_DURATION = Histogram(
    "drawdown_drawdown_duration_seconds",
    "Time to book one batch's usage against the credit ledger (inside the ingest transaction)",
    buckets=_LATENCY_BUCKETS_S,
)
LEDGER_ENTRIES = Counter(
    "drawdown_ledger_entries", "Ledger entries written, by entry type", ("type",)
)
GRANTS = Counter(
    "drawdown_grants",
    "Credit grants by action (created, activated, depleted, expired, voided)",
    ("action",),
)
TOPUPS = Counter(
    "drawdown_topups",
    "Top-ups by event (requested, succeeded, failed, expired)",
    ("event",),
)
RATE_LIMITED = Counter(
    "drawdown_rate_limited", "Requests refused with 429, by limit (requests, events)", ("limit",)
)
DB_POOL_CONNECTIONS = Gauge(
    "drawdown_db_pool_connections",
    "Database connections checked out of the pool now (all worker processes)",
    multiprocess_mode="livesum",
)
BUILD_INFO = Gauge(
    "drawdown_build_info",
    "Always 1; the version label says what runs",
    ("version",),
    multiprocess_mode="max",
)


def enabled() -> bool:
    return bool(_state["enabled"])


def enable(version: str) -> None:
    """Make the real metrics (once per process); raises :class:`MetricsUnavailable` when
    prometheus-client is missing."""
    if _state["enabled"]:
        return
    try:
        import prometheus_client
    except ImportError:
        raise MetricsUnavailable(
            "DRAWDOWN_METRICS_TOKEN is set but prometheus-client is not installed: "
            "pip install 'drawdown[metrics]'"
        ) from None
    for metric in _DECLARED:
        metric._make(prometheus_client)
    BUILD_INFO.labels(version).set(1)
    _state["enabled"] = True


def process_stopped() -> None:
    """Drop this process's live gauges from the multiprocess directory as it exits."""
    if _state["enabled"] and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def observe_request(method: str, route: str, status: int, duration_s: float) -> None:
    if not _state["enabled"]:
        return
    REQUESTS.labels(method, route, f"{status // 100}xx").inc()
    REQUEST_DURATION.labels(method, route).observe(duration_s)


def count_ingest(inserted: int, duplicates: int, batch_size: int) -> None:
    if not _state["enabled"]:
        return
    surface = _surface.get()
    EVENTS_INGESTED.labels("inserted", surface).inc(inserted)
    EVENTS_INGESTED.labels("duplicate", surface).inc(duplicates)
    BATCH_SIZE.labels(surface).observe(batch_size)


def count_rejected(batch_size: int) -> None:
    """A batch refused with 422 (nothing of it is stored)."""
    if _state["enabled"]:
        EVENTS_INGESTED.labels("rejected", _surface.get()).inc(batch_size)


def count_ledger_writes(entry_types: Sequence[str], grant_actions: Sequence[str]) -> None:
    if not _state["enabled"]:
        return
    for entry_type in entry_types:
        LEDGER_ENTRIES.labels(entry_type).inc()
    for action in grant_actions:
        GRANTS.labels(action).inc()


def render(extra_collectors: Sequence[Any] = ()) -> tuple[bytes, str]:
    """The exposition text of every process's metrics, plus collectors computed now."""
    import prometheus_client
    from prometheus_client import multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = prometheus_client.CollectorRegistry()
        for collector in _real_collectors():
            registry.register(collector)
    for collector in extra_collectors:
        registry.register(collector)
    return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST


def _real_collectors() -> list[Any]:
    return [metric._real for metric in _DECLARED if metric._real is not None]
