"""The delivery worker: fans outbox events out to subscribed endpoints, then POSTs each due
delivery, records the attempt and schedules the next one.

It runs as a thread in every server process by default, or in ``drawdown worker``. Any
number may run at once: claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one
writer) and a lease, so a worker that dies mid-attempt only delays a delivery. Nothing here
runs inside a producer's transaction: the cost to a producer is its outbox insert."""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection

from drawdown.clock import Clock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.ids import new_id, render_id
from drawdown.tenancy import Tenant
from drawdown.webhooks import store
from drawdown.webhooks.guard import UnsafeUrl, check_url
from drawdown.webhooks.outbox import NEW_EVENTS, emit
from drawdown.webhooks.records import DueDelivery, OutboxEvent
from drawdown.webhooks.render import render_request
from drawdown.webhooks.schedule import next_delay, parse_retry_after
from drawdown.webhooks.signing import webhook_headers

__all__ = ["AttemptResult", "Deliverer", "WebhookThread", "run_webhooks"]

log = logging.getLogger("drawdown.webhooks")

MAX_RESPONSE_CHARS = 2048
DISABLE_AFTER_EXHAUSTED = 5
# Answers that ask the sender to slow down: the whole endpoint waits, not only this event.
THROTTLE_CODES = frozenset({429, 502, 504})
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    succeeded: bool
    http_code: int | None
    error: str | None
    response: str | None
    latency_us: int
    retry_after: timedelta | None


class Deliverer:
    """One worker's state: the HTTP client, the thread pool and the jitter source. Tests
    drive it pass by pass with a :class:`~drawdown.clock.ManualClock`."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        settings: Settings,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.settings = settings
        self.rng = rng or random.Random()
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.webhook_timeout_s),
            follow_redirects=False,
            trust_env=False,  # never through a proxy from the environment
        )
        self.pool = ThreadPoolExecutor(settings.webhook_concurrency, "drawdown-webhook")
        self._pruned_at: datetime | None = None

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    # -- passes ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Fan out what is new, then deliver what is due; the number of things done. About
        once an hour, also forget what is older than the retention period."""
        done = self.dispatch_once() + self.deliver_once()
        if self._pruned_at is None or self.clock.now() - self._pruned_at >= PRUNE_EVERY:
            self.prune_once()
        return done

    def prune_once(self) -> int:
        """Remove settled events, deliveries and attempts past the retention period."""
        now = self.clock.now()
        self._pruned_at = now
        cutoff = now - timedelta(days=self.settings.webhook_retention_days)
        with self.database.write() as conn:
            return store.prune(conn, cutoff)

    def dispatch_once(self) -> int:
        """Fan out what is new and make each delivery's first attempt at once: the new
        deliveries are written already leased to this worker, so the first attempt costs no
        separate claim; if this worker dies before recording them, they fall due again when
        the lease runs out (at least once)."""
        with self.database.read() as conn:
            if not store.any_undispatched(conn):
                return 0
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_s)
        with self.database.write() as conn:
            events = store.lock_undispatched(conn, self.settings.webhook_batch_size)
            tenants = sorted({(e.organization_id, e.mode) for e in events})
            endpoints = store.enabled_endpoints(conn, [Tenant(o, m) for o, m in tenants])  # type: ignore[arg-type]
            new = [
                DueDelivery(new_id(), 0, event, endpoint)
                for event in events
                for endpoint in endpoints
                if (endpoint.organization_id, endpoint.mode) == (event.organization_id, event.mode)
                and endpoint.subscribes(event.type)
            ]
            rows = [
                store.leased_row(d.id, d.event, d.endpoint.id, now, _due(d, now, lease_until))
                for d in new
            ]
            store.insert_deliveries(conn, rows)
            # A throttled endpoint's deliveries wait, due when its throttle ends.
            fresh = [d for d in new if not d.endpoint.throttled_at(now)]
            store.mark_dispatched(conn, [e.id for e in events], now)
        self._send(fresh)
        return len(events)

    def deliver_once(self) -> int:
        """Retries (and deliveries scheduled by redeliver, replay and test) that are due."""
        now = self.clock.now()
        with self.database.read() as conn:
            if not store.any_due(conn, now):
                return 0
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_s)
        with self.database.write() as conn:
            claimed = store.claim_due(conn, now, lease_until, self.settings.webhook_batch_size)
        self._send(claimed)
        return len(claimed)

    def _send(self, deliveries: list[DueDelivery]) -> None:
        """Attempt these (in parallel), then record every outcome in one transaction."""
        if not deliveries:
            return
        results = list(self.pool.map(self.attempt, deliveries))
        with self.database.write() as conn:
            self._record_all(conn, deliveries, results)

    # -- one attempt -------------------------------------------------------------------------

    def attempt(self, delivery: DueDelivery) -> AttemptResult:
        endpoint, event = delivery.endpoint, delivery.event
        try:
            check_url(endpoint.url, allow_private=self.settings.webhook_allow_private)
        except UnsafeUrl as exc:
            return AttemptResult(False, None, f"refused: {exc}", None, 0, None)
        # webhook-timestamp is wall time even under a test clock: receivers check it
        # against their own clock (Standard Webhooks allows 5 minutes of skew).
        sent_at = datetime.now(UTC)
        body = render_request(endpoint.flavor, render_id("webhook_event", event.id), event)
        headers = webhook_headers(
            endpoint.signing_secrets(self.clock.now()),
            render_id("webhook_event", event.id),
            sent_at,
            body,
            polar=endpoint.flavor == "polar",
        )
        started = time.perf_counter()
        try:
            response = self.client.post(endpoint.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            latency = int((time.perf_counter() - started) * 1e6)
            message = f"{type(exc).__name__}: {exc}"[:500]
            return AttemptResult(False, None, message, None, latency, None)
        latency = int((time.perf_counter() - started) * 1e6)
        code = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after"), sent_at)
        return AttemptResult(
            200 <= code < 300, code, None, response.text[:MAX_RESPONSE_CHARS], latency, retry_after
        )

    def _record_all(
        self, conn: Connection, deliveries: list[DueDelivery], results: list[AttemptResult]
    ) -> None:
        """One multi-row insert of the attempts and one update of every delivery that
        succeeded; failures (few) are scheduled one by one."""
        now = self.clock.now()
        store.insert_attempts(
            conn,
            [_attempt_row(d, r, now) for d, r in zip(deliveries, results, strict=True)],
        )
        succeeded = [d for d, r in zip(deliveries, results, strict=True) if r.succeeded]
        store.mark_succeeded(conn, [d.id for d in succeeded], now)
        for endpoint_id in sorted({d.endpoint.id for d in succeeded}):
            store.reset_failures(conn, endpoint_id)
        for delivery, result in zip(deliveries, results, strict=True):
            if not result.succeeded:
                self._record_failure(conn, delivery, result, now)

    def _record_failure(
        self, conn: Connection, delivery: DueDelivery, result: AttemptResult, now: datetime
    ) -> None:
        endpoint = delivery.endpoint
        values: dict[str, object] = {"attempts": delivery.attempts + 1, "updated_at": now}
        if result.http_code == 410:
            store.update_delivery(conn, delivery.id, {**values, "status": "failed"})
            self._disable(conn, delivery, "the receiver answered 410 Gone", now)
            return
        delay = next_delay(delivery.attempts + 1, self.rng, result.retry_after)
        if delay is not None:
            store.update_delivery(conn, delivery.id, {**values, "next_attempt_at": now + delay})
            if result.http_code in THROTTLE_CODES or result.retry_after is not None:
                store.throttle_endpoint(conn, endpoint.id, now + delay)
            return
        store.update_delivery(conn, delivery.id, {**values, "status": "failed"})
        if store.count_failure(conn, endpoint.id, now) >= DISABLE_AFTER_EXHAUSTED:
            reason = f"{DISABLE_AFTER_EXHAUSTED} consecutive events exhausted every retry"
            self._disable(conn, delivery, reason, now)

    def _disable(self, conn: Connection, delivery: DueDelivery, reason: str, now: datetime) -> None:
        endpoint = delivery.endpoint
        if not store.disable_endpoint(conn, endpoint.id, reason, now):
            return
        log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
        data = {
            "endpoint_id": render_id("webhook_endpoint", endpoint.id),
            "url": endpoint.url,
            "reason": reason,
        }
        tenant = Tenant(endpoint.organization_id, endpoint.mode)  # type: ignore[arg-type]
        emit(conn, tenant, OutboxEvent("webhook_endpoint.disabled", data, now))


def _due(delivery: DueDelivery, now: datetime, lease_until: datetime) -> datetime:
    """When a new delivery is next due: the end of this worker's lease (it sends it now),
    or the end of its endpoint's throttle."""
    throttled_until = delivery.endpoint.throttled_until
    if throttled_until is not None and now < throttled_until:
        return throttled_until
    return lease_until


def _attempt_row(delivery: DueDelivery, result: AttemptResult, now: datetime) -> dict[str, Any]:
    endpoint = delivery.endpoint
    return {
        "id": new_id(),
        "organization_id": endpoint.organization_id,
        "mode": endpoint.mode,
        "delivery_id": delivery.id,
        "event_id": delivery.event.id,
        "endpoint_id": endpoint.id,
        "attempt": delivery.attempts + 1,
        "succeeded": result.succeeded,
        "http_code": result.http_code,
        "error": result.error,
        "response": result.response,
        "latency_us": result.latency_us,
        "created_at": now,
    }


def run_webhooks(deliverer: Deliverer, interval_s: float, stop: threading.Event) -> None:
    """Deliver until ``stop`` is set: back to back while there is work, else when this
    process commits new events or every ``interval_s``."""
    while not stop.is_set():
        NEW_EVENTS.clear()
        try:
            if deliverer.run_once():
                continue
        except Exception:
            log.exception("webhook pass failed; retrying in %.1f s", interval_s)
            stop.wait(interval_s)
            continue
        NEW_EVENTS.wait(interval_s)


class WebhookThread:
    def __init__(self, database: Database, clock: Clock, settings: Settings) -> None:
        self._stop = threading.Event()
        self.deliverer = Deliverer(database, clock, settings)
        self._thread = threading.Thread(
            target=run_webhooks,
            args=(self.deliverer, settings.webhook_poll_interval_s, self._stop),
            name="drawdown-webhooks",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 20.0) -> None:
        self._stop.set()
        NEW_EVENTS.set()
        self._thread.join(timeout_s)
        self.deliverer.close()
