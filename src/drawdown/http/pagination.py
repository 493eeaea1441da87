"""Cursor pagination for native lists: ``limit`` and ``starting_after`` in, ``{data,
has_more}`` out. Items are ordered newest first by their time-ordered id, so a cursor is
just the last id seen and pages never shift when new rows arrive."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Column, Connection, Select

from drawdown.errors import request_field
from drawdown.ids import parse_id
from drawdown.paging import Cursor, Slice

__all__ = [
    "DEFAULT_LIMIT",
    "LimitParam",
    "Page",
    "StartingAfterParam",
    "cursor",
    "page_of",
    "paginate",
]

DEFAULT_LIMIT = 20
T = TypeVar("T")

LimitParam = Annotated[int, Query(ge=1, le=1000, description="Items per page (max 100)")]
StartingAfterParam = Annotated[
    str | None, Query(description="Return items after this id (the last id of a page)")
]


class Page(BaseModel, Generic[T]):
    object: str = "list"
    data: list[T]
    has_more: bool


def paginate(
    conn: Connection,
    query: Select[Any],
    id_column: Column[uuid.UUID],
    *,
    kind: str,
    limit: int,
    max_limit: int,
    starting_after: str | None,
    render: Callable[[Any], T],
) -> Page[T]:
    limit = min(limit, max_limit)
    if starting_after is not None:
        cursor = parse_id(kind, starting_after)
        if cursor is None:
            raise request_field(["query", "starting_after"], f"is not a valid {kind} id")
        query = query.where(id_column < cursor)
    rows: Sequence[Any] = list(conn.execute(query.order_by(id_column.desc()).limit(limit + 1)))
    return Page[T](data=[render(row) for row in rows[:limit]], has_more=len(rows) > limit)


def cursor(kind: str, limit: int, starting_after: str | None, max_limit: int) -> Cursor:
    """The page a native list asks for; a cursor that is not a ``kind`` id is a 422."""
    after = None
    if starting_after is not None:
        after = parse_id(kind, starting_after)
        if after is None:
            raise request_field(["query", "starting_after"], f"is not a valid {kind} id")
    return Cursor(min(limit, max_limit), after)


def page_of(found: Slice[Any], render: Callable[[Any], T]) -> Page[T]:
    return Page[T](data=[render(item) for item in found.items], has_more=found.has_more)
