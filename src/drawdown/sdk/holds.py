"""``client.holds.reserve(...)``: a hold as a ``with`` block.

::

    with client.holds.reserve(customer_id, amount="2.00", meter_id="llm_tokens") as hold:
        tokens = call_the_model(max_cost=hold.amount)
        hold.capture(event={"name": "llm_tokens", "properties": {"tokens": tokens}})

Entering the block places the hold (a short balance raises
:class:`~drawdown.InsufficientCreditsError` there, before any work). Leaving it without a
capture or release, by an exception or otherwise, releases the hold, so a failed call
never keeps credits reserved until the timeout. The async twin is ``async with``."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any

from drawdown.sdk.errors import ConflictError
from drawdown.sdk.models import Hold

__all__ = ["AsyncReservation", "Reservation"]

Amount = Decimal | str | int


def _with_identifier(hold: Hold, event: Mapping[str, Any]) -> dict[str, Any]:
    """A capture's event defaults its identifier to the hold's id: one event per hold."""
    out = dict(event)
    out.setdefault("identifier", hold.id)
    return out


def _release_reason(exc: BaseException | None) -> str:
    return f"exception: {type(exc).__name__}"[:255] if exc is not None else "not captured"


class Reservation:
    """A hold placed on entering a ``with`` block; see the module docs."""

    def __init__(
        self,
        create: Callable[[], Hold],
        capture: Callable[..., Hold],
        release: Callable[..., Hold],
    ) -> None:
        self._create, self._capture, self._release = create, capture, release
        self._hold: Hold | None = None
        self._resolved = False

    @property
    def hold(self) -> Hold:
        """The hold as last returned by the server."""
        if self._hold is None:
            raise RuntimeError("the hold is placed when the with block is entered")
        return self._hold

    @property
    def id(self) -> str:
        return self.hold.id

    @property
    def amount(self) -> Decimal:
        """What is reserved (less than asked for when a min_amount allowed it)."""
        return self.hold.amount

    def capture(
        self,
        amount: Amount | None = None,
        *,
        event: Mapping[str, Any],
        allow_overage: bool | None = None,
    ) -> Hold:
        """Ingest ``event`` and draw what it costs (``amount``, if given, must match)."""
        self._hold = self._capture(
            self.hold.id,
            amount,
            event=_with_identifier(self.hold, event),
            allow_overage=allow_overage,
        )
        self._resolved = True
        return self._hold

    def release(self, reason: str | None = None) -> Hold:
        self._hold = self._release(self.hold.id, reason=reason)
        self._resolved = True
        return self._hold

    def __enter__(self) -> Reservation:
        self._hold = self._create()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._hold is None or self._resolved:
            return
        # ConflictError: it expired (or resolved elsewhere) meanwhile, nothing is reserved.
        with contextlib.suppress(ConflictError):
            self.release(_release_reason(exc))


class AsyncReservation:
    """The ``async with`` twin of :class:`Reservation`."""

    def __init__(
        self,
        create: Callable[[], Awaitable[Hold]],
        capture: Callable[..., Awaitable[Hold]],
        release: Callable[..., Awaitable[Hold]],
    ) -> None:
        self._create, self._capture, self._release = create, capture, release
        self._hold: Hold | None = None
        self._resolved = False

    @property
    def hold(self) -> Hold:
        if self._hold is None:
            raise RuntimeError("the hold is placed when the async with block is entered")
        return self._hold

    @property
    def id(self) -> str:
        return self.hold.id

    @property
    def amount(self) -> Decimal:
        return self.hold.amount

    async def capture(
        self,
        amount: Amount | None = None,
        *,
        event: Mapping[str, Any],
        allow_overage: bool | None = None,
    ) -> Hold:
        self._hold = await self._capture(
            self.hold.id,
            amount,
            event=_with_identifier(self.hold, event),
            allow_overage=allow_overage,
        )
        self._resolved = True
        return self._hold

    async def release(self, reason: str | None = None) -> Hold:
        self._hold = await self._release(self.hold.id, reason=reason)
        self._resolved = True
        return self._hold

    async def __aenter__(self) -> AsyncReservation:
        self._hold = await self._create()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._hold is None or self._resolved:
            return
        with contextlib.suppress(ConflictError):
            await self.release(_release_reason(exc))
