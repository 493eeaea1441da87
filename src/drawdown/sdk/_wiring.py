"""Turn a call description (``_calls``) into a resource method, sync or async, keeping its
signature and docstring for type checkers and ``help()``."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

from drawdown.sdk._http import Call
from drawdown.sdk.models import Page, _Object

__all__ = ["AsyncSender", "SyncSender", "async_call", "async_pages", "sync_call", "sync_pages"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T", bound=_Object)
# Page size used when walking every page and the caller set no limit.
DEFAULT_PAGE_SIZE = 100


class SyncSender(Protocol):
    def send(self, call: Call[R], /) -> R: ...


class AsyncSender(Protocol):
    async def send(self, call: Call[R], /) -> R: ...


class SyncResource:
    def __init__(self, client: SyncSender) -> None:
        self._client = client


class AsyncResource:
    def __init__(self, client: AsyncSender) -> None:
        self._client = client


def sync_call(build: Callable[P, Call[R]]) -> Callable[Concatenate[SyncResource, P], R]:
    @functools.wraps(build)
    def method(self: SyncResource, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._client.send(build(*args, **kwargs))

    return method


def async_call(
    build: Callable[P, Call[R]],
) -> Callable[Concatenate[AsyncResource, P], Coroutine[Any, Any, R]]:
    @functools.wraps(build)
    async def method(self: AsyncResource, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._client.send(build(*args, **kwargs))

    return method


def _pager(build: Callable[..., Call[Page[Any]]], kwargs: dict[str, Any]) -> Callable[..., Any]:
    kwargs = dict(kwargs)
    kwargs.setdefault("limit", DEFAULT_PAGE_SIZE)
    return functools.partial(build, **kwargs)


def _cursor(page: Page[Any]) -> str | None:
    """The id to ask the next page after, or None when this was the last page."""
    return page.data[-1].id if page.has_more and page.data else None


def sync_pages(
    build: Callable[P, Call[Page[T]]],
) -> Callable[Concatenate[SyncResource, P], Iterator[T]]:
    """``list_all``: every item of every page, fetching pages as the loop needs them.
    ``limit`` is the page size (default 100); ``starting_after`` resumes after an id."""

    def method(self: SyncResource, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        make = _pager(build, cast(dict[str, Any], kwargs))
        cursor = kwargs.get("starting_after")
        while True:
            page: Page[T] = self._client.send(make(*args, starting_after=cursor))
            yield from page.data
            cursor = _cursor(page)
            if cursor is None:
                return

    method.__doc__ = sync_pages.__doc__
    return method


def async_pages(
    build: Callable[P, Call[Page[T]]],
) -> Callable[Concatenate[AsyncResource, P], AsyncIterator[T]]:
    """``list_all``: every item of every page (``async for``), fetching pages as needed.
    ``limit`` is the page size (default 100); ``starting_after`` resumes after an id."""

    async def method(self: AsyncResource, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        make = _pager(build, cast(dict[str, Any], kwargs))
        cursor = kwargs.get("starting_after")
        while True:
            page: Page[T] = await self._client.send(make(*args, starting_after=cursor))
            for item in page.data:
                yield item
            cursor = _cursor(page)
            if cursor is None:
                return

    method.__doc__ = async_pages.__doc__
    return method
