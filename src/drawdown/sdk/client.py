"""``drawdown.Client``: the synchronous client.

::

    import drawdown

    with drawdown.Client("dd_test_...") as client:
        customer = client.customers.create(external_id="user_123")
        for grant in client.credit_grants.list_all(customer_id=customer.id):
            print(grant.remaining)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import httpx

from drawdown.sdk import _calls as c
from drawdown.sdk import _topup_calls as t
from drawdown.sdk import _webhook_calls as w
from drawdown.sdk._http import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    Call,
    ClientOptions,
    connection_error,
    result_or_error,
    retry_delay_s,
)
from drawdown.sdk._wiring import SyncResource, sync_call, sync_pages
from drawdown.sdk.holds import Reservation
from drawdown.sdk.ingest import DEFAULT_BATCH_SIZE, EventIn, OnBatch, ingest_all_sync
from drawdown.sdk.models import Customer, IngestTotals

__all__ = ["Client"]

R = TypeVar("R")


class Customers(SyncResource):
    create = sync_call(c.customers_create)
    get = sync_call(c.customers_get)
    get_by_external_id = sync_call(c.customers_get_by_external_id)
    update = sync_call(c.customers_update)
    update_by_external_id = sync_call(c.customers_update_by_external_id)
    delete = sync_call(c.customers_delete)
    delete_by_external_id = sync_call(c.customers_delete_by_external_id)
    list = sync_call(c.customers_list)
    list_all = sync_pages(c.customers_list)


class Currencies(SyncResource):
    create = sync_call(c.currencies_create)
    get = sync_call(c.currencies_get)
    list = sync_call(c.currencies_list)
    list_all = sync_pages(c.currencies_list)


class Meters(SyncResource):
    create = sync_call(c.meters_create)
    get = sync_call(c.meters_get)
    update = sync_call(c.meters_update)
    list = sync_call(c.meters_list)
    list_all = sync_pages(c.meters_list)
    activate = sync_call(c.meters_activate)
    deactivate = sync_call(c.meters_deactivate)
    usage = sync_call(c.meters_usage)


class Events(SyncResource):
    ingest = sync_call(c.events_ingest)
    get = sync_call(c.events_get)
    list = sync_call(c.events_list)
    list_all = sync_pages(c.events_list)

    def ingest_all(
        self,
        events: Iterable[EventIn],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrency: int = 1,
        on_batch: OnBatch | None = None,
    ) -> IngestTotals:
        """Send any number of events in batches of ``batch_size`` (the server's limit is
        1000 by default), ``concurrency`` batches at a time (threads). ``on_batch`` gets the
        running totals after each batch. Returns the totals; a failed batch raises
        :class:`~drawdown.IngestBatchError` with the totals of the batches stored."""
        return ingest_all_sync(
            self.ingest, events, batch_size=batch_size, concurrency=concurrency, on_batch=on_batch
        )


class CreditGrants(SyncResource):
    create = sync_call(c.credit_grants_create)
    get = sync_call(c.credit_grants_get)
    list = sync_call(c.credit_grants_list)
    list_all = sync_pages(c.credit_grants_list)
    void = sync_call(c.credit_grants_void)
    expire = sync_call(c.credit_grants_expire)


class CreditTransactions(SyncResource):
    get = sync_call(c.credit_transactions_get)
    list = sync_call(c.credit_transactions_list)
    list_all = sync_pages(c.credit_transactions_list)


class Balances(SyncResource):
    list = sync_call(c.balances_list)


class AccessChecks(SyncResource):
    check = sync_call(c.access_check)


class WebhookEndpoints(SyncResource):
    create = sync_call(w.endpoints_create)
    get = sync_call(w.endpoints_get)
    list = sync_call(w.endpoints_list)
    list_all = sync_pages(w.endpoints_list)
    update = sync_call(w.endpoints_update)
    delete = sync_call(w.endpoints_delete)
    rotate_secret = sync_call(w.endpoints_rotate_secret)
    enable = sync_call(w.endpoints_enable)
    disable = sync_call(w.endpoints_disable)
    test = sync_call(w.endpoints_test)
    replay = sync_call(w.endpoints_replay)


class WebhookEvents(SyncResource):
    get = sync_call(w.events_get)
    list = sync_call(w.events_list)
    list_all = sync_pages(w.events_list)
    redeliver = sync_call(w.events_redeliver)


class WebhookDeliveries(SyncResource):
    list = sync_call(w.deliveries_list)
    list_all = sync_pages(w.deliveries_list)


class Webhooks:
    """``endpoints``, ``events`` (the log, redeliver) and ``deliveries`` (attempts)."""

    def __init__(self, client: Any) -> None:
        self.endpoints = WebhookEndpoints(client)
        self.events = WebhookEvents(client)
        self.deliveries = WebhookDeliveries(client)


class Alerts(SyncResource):
    create = sync_call(w.alerts_create)
    get = sync_call(w.alerts_get)
    list = sync_call(w.alerts_list)
    list_all = sync_pages(w.alerts_list)
    update = sync_call(w.alerts_update)
    delete = sync_call(w.alerts_delete)
    enable = sync_call(w.alerts_enable)
    disable = sync_call(w.alerts_disable)


class Holds(SyncResource):
    create = sync_call(c.holds_create)
    get = sync_call(c.holds_get)
    capture = sync_call(c.holds_capture)
    release = sync_call(c.holds_release)
    list = sync_call(c.holds_list)
    list_all = sync_pages(c.holds_list)

    def reserve(
        self,
        customer: str | Customer | None = None,
        *,
        amount: Decimal | str | int,
        external_customer_id: str | None = None,
        meter_id: str | None = None,
        currency_id: str | None = None,
        min_amount: Decimal | str | int | None = None,
        timeout_s: int = 300,
        metadata: Mapping[str, str | int | float | bool] | None = None,
        idempotency_key: str | None = None,
    ) -> Reservation:
        """A hold as a ``with`` block (see :mod:`drawdown.sdk.holds`): placed on
        entering, released on leaving unless captured or released inside. ``customer``
        is a customer id (``cus_...``) or a :class:`~drawdown.Customer`."""
        customer_id = customer.id if isinstance(customer, Customer) else customer
        call = c.holds_create(
            amount=amount,
            customer_id=customer_id,
            external_customer_id=external_customer_id,
            meter_id=meter_id,
            currency_id=currency_id,
            min_amount=min_amount,
            timeout_s=timeout_s,
            metadata=metadata,
            idempotency_key=idempotency_key,
        )
        return Reservation(lambda: self._client.send(call), self.capture, self.release)


class TopupRules(SyncResource):
    create = sync_call(t.rules_create)
    get = sync_call(t.rules_get)
    list = sync_call(t.rules_list)
    list_all = sync_pages(t.rules_list)
    update = sync_call(t.rules_update)
    delete = sync_call(t.rules_delete)
    enable = sync_call(t.rules_enable)
    disable = sync_call(t.rules_disable)


class Topups(SyncResource):
    create = sync_call(t.topups_create)
    get = sync_call(t.topups_get)
    list = sync_call(t.topups_list)
    list_all = sync_pages(t.topups_list)
    confirm = sync_call(t.topups_confirm)
    fail = sync_call(t.topups_fail)


class Client:
    """A drawdown API client (thread-safe; reuse one per process).

    ``api_key`` defaults to ``$DRAWDOWN_API_KEY``, ``base_url`` to ``$DRAWDOWN_BASE_URL`` or
    http://127.0.0.1:8000. Connection errors, timeouts, 429 and 5xx are retried up to
    ``max_retries`` times with exponential backoff (``backoff_s`` doubling up to
    ``max_backoff_s``, with jitter), honouring ``Retry-After``. Pass ``http_client`` to use
    your own ``httpx.Client`` (proxies, transports, tests); its timeouts then apply."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._options = ClientOptions.build(
            api_key, base_url, timeout_s, max_retries, backoff_s, max_backoff_s
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=httpx.Timeout(timeout_s))
        self._headers = self._options.default_headers()
        self.customers = Customers(self)
        self.currencies = Currencies(self)
        self.meters = Meters(self)
        self.events = Events(self)
        self.credit_grants = CreditGrants(self)
        self.credit_transactions = CreditTransactions(self)
        self.balances = Balances(self)
        self.access = AccessChecks(self)
        self.webhooks = Webhooks(self)
        self.alerts = Alerts(self)
        self.holds = Holds(self)
        self.topup_rules = TopupRules(self)
        self.topups = Topups(self)

    @property
    def base_url(self) -> str:
        return self._options.base_url

    def send(self, call: Call[R], /) -> R:
        """Send one described call, retrying as configured; return its parsed result."""
        content = call.content()
        headers = {**self._headers, **call.headers()}
        url = self._options.base_url + call.path
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method, url, params=call.params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                delay = retry_delay_s(self._options.retry, call, attempt, exc)
                if delay is None:
                    raise connection_error(exc, call, attempt + 1) from exc
            else:
                delay = retry_delay_s(self._options.retry, call, attempt, response)
                if delay is None:
                    return result_or_error(call, response, attempt + 1)
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
