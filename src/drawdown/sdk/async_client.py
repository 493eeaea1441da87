"""``drawdown.AsyncClient``: the asyncio client, same resources as :class:`Client`.

::

    import drawdown

    async with drawdown.AsyncClient("dd_test_...") as client:
        customer = await client.customers.create(external_id="user_123")
        async for grant in client.credit_grants.list_all(customer_id=customer.id):
            print(grant.remaining)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable, Mapping
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
from drawdown.sdk._wiring import AsyncResource, async_call, async_pages
from drawdown.sdk.holds import AsyncReservation
from drawdown.sdk.ingest import DEFAULT_BATCH_SIZE, EventIn, OnBatch, ingest_all_async
from drawdown.sdk.models import Customer, IngestTotals

__all__ = ["AsyncClient"]

R = TypeVar("R")


class Customers(AsyncResource):
    create = async_call(c.customers_create)
    get = async_call(c.customers_get)
    get_by_external_id = async_call(c.customers_get_by_external_id)
    update = async_call(c.customers_update)
    update_by_external_id = async_call(c.customers_update_by_external_id)
    delete = async_call(c.customers_delete)
    delete_by_external_id = async_call(c.customers_delete_by_external_id)
    list = async_call(c.customers_list)
    list_all = async_pages(c.customers_list)


class Currencies(AsyncResource):
    create = async_call(c.currencies_create)
    get = async_call(c.currencies_get)
    list = async_call(c.currencies_list)
    list_all = async_pages(c.currencies_list)


class Meters(AsyncResource):
    create = async_call(c.meters_create)
    get = async_call(c.meters_get)
    update = async_call(c.meters_update)
    list = async_call(c.meters_list)
    list_all = async_pages(c.meters_list)
    activate = async_call(c.meters_activate)
    deactivate = async_call(c.meters_deactivate)
    usage = async_call(c.meters_usage)


class Events(AsyncResource):
    ingest = async_call(c.events_ingest)
    get = async_call(c.events_get)
    list = async_call(c.events_list)
    list_all = async_pages(c.events_list)

    async def ingest_all(
        self,
        events: Iterable[EventIn] | AsyncIterable[EventIn],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrency: int = 1,
        on_batch: OnBatch | None = None,
    ) -> IngestTotals:
        """Send any number of events (an iterable or an async iterable) in batches of
        ``batch_size`` (the server's limit is 1000 by default), ``concurrency`` batches at a
        time (asyncio tasks). ``on_batch`` gets the running totals after each batch. Returns
        the totals; a failed batch raises :class:`~drawdown.IngestBatchError` with the
        totals of the batches stored."""
        return await ingest_all_async(
            self.ingest, events, batch_size=batch_size, concurrency=concurrency, on_batch=on_batch
        )


class CreditGrants(AsyncResource):
    create = async_call(c.credit_grants_create)
    get = async_call(c.credit_grants_get)
    list = async_call(c.credit_grants_list)
    list_all = async_pages(c.credit_grants_list)
    void = async_call(c.credit_grants_void)
    expire = async_call(c.credit_grants_expire)


class CreditTransactions(AsyncResource):
    get = async_call(c.credit_transactions_get)
    list = async_call(c.credit_transactions_list)
    list_all = async_pages(c.credit_transactions_list)


class Balances(AsyncResource):
    list = async_call(c.balances_list)


class AccessChecks(AsyncResource):
    check = async_call(c.access_check)


class WebhookEndpoints(AsyncResource):
    create = async_call(w.endpoints_create)
    get = async_call(w.endpoints_get)
    list = async_call(w.endpoints_list)
    list_all = async_pages(w.endpoints_list)
    update = async_call(w.endpoints_update)
    delete = async_call(w.endpoints_delete)
    rotate_secret = async_call(w.endpoints_rotate_secret)
    enable = async_call(w.endpoints_enable)
    disable = async_call(w.endpoints_disable)
    test = async_call(w.endpoints_test)
    replay = async_call(w.endpoints_replay)


class WebhookEvents(AsyncResource):
    get = async_call(w.events_get)
    list = async_call(w.events_list)
    list_all = async_pages(w.events_list)
    redeliver = async_call(w.events_redeliver)


class WebhookDeliveries(AsyncResource):
    list = async_call(w.deliveries_list)
    list_all = async_pages(w.deliveries_list)


class Webhooks:
    """``endpoints``, ``events`` (the log, redeliver) and ``deliveries`` (attempts)."""

    def __init__(self, client: Any) -> None:
        self.endpoints = WebhookEndpoints(client)
        self.events = WebhookEvents(client)
        self.deliveries = WebhookDeliveries(client)


class Alerts(AsyncResource):
    create = async_call(w.alerts_create)
    get = async_call(w.alerts_get)
    list = async_call(w.alerts_list)
    list_all = async_pages(w.alerts_list)
    update = async_call(w.alerts_update)
    delete = async_call(w.alerts_delete)
    enable = async_call(w.alerts_enable)
    disable = async_call(w.alerts_disable)


class Holds(AsyncResource):
    create = async_call(c.holds_create)
    get = async_call(c.holds_get)
    capture = async_call(c.holds_capture)
    release = async_call(c.holds_release)
    list = async_call(c.holds_list)
    list_all = async_pages(c.holds_list)

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
    ) -> AsyncReservation:
        """A hold as an async ``with`` block (see :mod:`drawdown.sdk.holds`): placed on
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
        return AsyncReservation(lambda: self._client.send(call), self.capture, self.release)


class TopupRules(AsyncResource):
    create = async_call(t.rules_create)
    get = async_call(t.rules_get)
    list = async_call(t.rules_list)
    list_all = async_pages(t.rules_list)
    update = async_call(t.rules_update)
    delete = async_call(t.rules_delete)
    enable = async_call(t.rules_enable)
    disable = async_call(t.rules_disable)


class Topups(AsyncResource):
    create = async_call(t.topups_create)
    get = async_call(t.topups_get)
    list = async_call(t.topups_list)
    list_all = async_pages(t.topups_list)
    confirm = async_call(t.topups_confirm)
    fail = async_call(t.topups_fail)


class AsyncClient:
    """A drawdown API client for asyncio (reuse one per event loop).

    ``api_key`` defaults to ``$DRAWDOWN_API_KEY``, ``base_url`` to ``$DRAWDOWN_BASE_URL`` or
    http://127.0.0.1:8000. Connection errors, timeouts, 429 and 5xx are retried up to
    ``max_retries`` times with exponential backoff (``backoff_s`` doubling up to
    ``max_backoff_s``, with jitter), honouring ``Retry-After``. Pass ``http_client`` to use
    your own ``httpx.AsyncClient`` (proxies, transports, tests); its timeouts then apply."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._options = ClientOptions.build(
            api_key, base_url, timeout_s, max_retries, backoff_s, max_backoff_s
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(timeout_s))
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

    async def send(self, call: Call[R], /) -> R:
        """Send one described call, retrying as configured; return its parsed result."""
        content = call.content()
        headers = {**self._headers, **call.headers()}
        url = self._options.base_url + call.path
        attempt = 0
        while True:
            try:
                response = await self._http.request(
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
            await asyncio.sleep(delay)
            attempt += 1

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
