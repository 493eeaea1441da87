"""Sending any number of events: split into batches at the server's limit, send them one at
a time or several at once, add up what the server stored.

Memory stays bounded: events are read from the iterable as batches are needed, and at most
``concurrency`` batches are in flight."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from drawdown.sdk.errors import APIError, IngestBatchError
from drawdown.sdk.models import IngestResult, IngestTotals

__all__ = ["DEFAULT_BATCH_SIZE", "ingest_all_async", "ingest_all_sync"]

DEFAULT_BATCH_SIZE = 1000
EventIn = Mapping[str, Any]
Batch = tuple[int, int, list[EventIn]]  # batch index, index of its first event, events
OnBatch = Callable[[IngestTotals], None]


def _check(batch_size: int, concurrency: int) -> None:
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")


def batches(events: Iterable[EventIn], batch_size: int) -> Iterator[Batch]:
    iterator = iter(events)
    first = 0
    for index in itertools.count():
        chunk = list(itertools.islice(iterator, batch_size))
        if not chunk:
            return
        yield index, first, chunk
        first += len(chunk)


def ingest_all_sync(
    send: Callable[[list[EventIn]], IngestResult],
    events: Iterable[EventIn],
    *,
    batch_size: int,
    concurrency: int,
    on_batch: OnBatch | None,
) -> IngestTotals:
    _check(batch_size, concurrency)
    totals = IngestTotals()
    if concurrency == 1:
        for index, first, chunk in batches(events, batch_size):
            try:
                result = send(chunk)
            except APIError as exc:
                raise IngestBatchError(
                    exc, batch_index=index, first_event_index=first, totals=totals
                ) from exc
            totals = totals.plus(result, len(chunk))
            if on_batch is not None:
                on_batch(totals)
        return totals
    return _threaded(send, batches(events, batch_size), concurrency, on_batch)


def _threaded(
    send: Callable[[list[EventIn]], IngestResult],
    pending: Iterator[Batch],
    concurrency: int,
    on_batch: OnBatch | None,
) -> IngestTotals:
    totals = IngestTotals()
    failure: IngestBatchError | None = None
    running: dict[Future[IngestResult], Batch] = {}
    with ThreadPoolExecutor(concurrency, thread_name_prefix="drawdown-ingest") as pool:
        while True:
            while failure is None and len(running) < concurrency:
                batch = next(pending, None)
                if batch is None:
                    break
                running[pool.submit(send, batch[2])] = batch
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, first, chunk = running.pop(future)
                exc = future.exception()
                if exc is None:
                    totals = totals.plus(future.result(), len(chunk))
                    if on_batch is not None:
                        on_batch(totals)
                elif failure is None and isinstance(exc, APIError):
                    failure = IngestBatchError(
                        exc, batch_index=index, first_event_index=first, totals=None
                    )
                elif failure is None:
                    raise exc
    if failure is not None:
        failure.totals = totals
        raise failure
    return totals


async def _abatches(
    events: Iterable[EventIn] | AsyncIterable[EventIn], batch_size: int
) -> AsyncIterable[Batch]:
    if not isinstance(events, AsyncIterable):
        for batch in batches(events, batch_size):
            yield batch
        return
    index, first, chunk = 0, 0, []
    async for event in events:
        chunk.append(event)
        if len(chunk) == batch_size:
            yield index, first, chunk
            index, first, chunk = index + 1, first + len(chunk), []
    if chunk:
        yield index, first, chunk


async def ingest_all_async(
    send: Callable[[list[EventIn]], Coroutine[Any, Any, IngestResult]],
    events: Iterable[EventIn] | AsyncIterable[EventIn],
    *,
    batch_size: int,
    concurrency: int,
    on_batch: OnBatch | None,
) -> IngestTotals:
    _check(batch_size, concurrency)
    totals = IngestTotals()
    failure: IngestBatchError | None = None
    running: dict[asyncio.Task[IngestResult], Batch] = {}
    source = _abatches(events, batch_size).__aiter__()
    exhausted = False
    while True:
        while failure is None and not exhausted and len(running) < concurrency:
            try:
                batch = await source.__anext__()
            except StopAsyncIteration:
                exhausted = True
                break
            running[asyncio.ensure_future(send(batch[2]))] = batch
        if not running:
            break
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            index, first, chunk = running.pop(task)
            exc = task.exception()
            if exc is None:
                totals = totals.plus(task.result(), len(chunk))
                if on_batch is not None:
                    on_batch(totals)
            elif failure is None and isinstance(exc, APIError):
                failure = IngestBatchError(
                    exc, batch_index=index, first_event_index=first, totals=None
                )
            elif failure is None:
                for other in running:
                    other.cancel()
                raise exc
    if failure is not None:
        failure.totals = totals
        raise failure
    return totals
