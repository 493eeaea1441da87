"""Placing the domain's validation failures in the request.

Services name the fields of the command or query they were given (``["amount"]``); only the
route knows which part of the request that came from. A route runs its service call in
``with fields_in("body"):`` (or ``"query"``), and a failure raised inside comes out with
``loc`` ``["body", "amount"]``. Failures already placed (built by the HTTP layer itself) pass
through unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from drawdown.errors import ValidationFailed

__all__ = ["fields_in"]


@contextmanager
def fields_in(*part: str | int) -> Iterator[None]:
    try:
        yield
    except ValidationFailed as exc:
        exc.placed_in(*part)
        raise
