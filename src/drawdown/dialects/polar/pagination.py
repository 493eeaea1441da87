"""Polar's page/limit pagination: ``?page=1&limit=10`` in, ``{"items": [...],
"pagination": {"total_count", "max_page"}}`` out. ``limit`` above 100 is capped silently,
as Polar does; ``page`` and ``limit`` must be positive (422 otherwise)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from drawdown.errors import ValidationFailed

__all__ = [
    "MAX_LIMIT",
    "ListResource",
    "NoMetadataFilter",
    "PageParam",
    "Pagination",
    "PerPageParam",
    "SortingParam",
    "list_resource",
    "order_by_sorting",
    "page_of_query",
    "page_rows",
]

MAX_LIMIT = 100
T = TypeVar("T")

PageParam = Annotated[int, Query(gt=0, description="Page number, defaults to 1.")]
PerPageParam = Annotated[
    int, Query(gt=0, description="Size of a page, defaults to 10. Maximum is 100.")
]
SortingParam = Annotated[
    list[str] | None,
    Query(
        description="Sorting criterion. Several criteria can be used simultaneously "
        "and will be applied in order. Add a minus sign `-` before the criteria name "
        "to sort by descending order."
    ),
]


def _no_metadata_filter(request: Request) -> None:
    """Polar's ``?metadata[key]=value`` filters are not implemented: refuse them rather than
    answer as if they had been applied."""
    keys = [key for key in request.query_params if key.startswith("metadata[")]
    if keys:
        msg = "metadata filters are not supported by drawdown"
        raise ValidationFailed([(["query", key], msg) for key in keys])


NoMetadataFilter = Depends(_no_metadata_filter)


class Pagination(BaseModel):
    total_count: int
    max_page: int


class ListResource(BaseModel, Generic[T]):
    items: list[T]
    pagination: Pagination


def list_resource(items: Sequence[T], total_count: int, limit: int) -> ListResource[T]:
    limit = min(limit, MAX_LIMIT)
    max_page = math.ceil(total_count / limit)
    return ListResource[T](
        items=list(items), pagination=Pagination(total_count=total_count, max_page=max_page)
    )


def order_by_sorting(
    sorting: list[str] | None,
    columns: dict[str, ColumnElement[Any]],
    default: list[str],
    tie: ColumnElement[Any],
) -> list[ColumnElement[Any]]:
    """``["-created_at", "name"]`` to ORDER BY terms, ended by ``tie`` (a unique column) in
    the direction of the first criterion; an unknown criterion is Polar's 422."""
    criteria = sorting or default
    terms: list[ColumnElement[Any]] = []
    for index, criterion in enumerate(criteria):
        column = columns.get(criterion.removeprefix("-"))
        if column is None:
            raise ValidationFailed([(["query", "sorting", index], "Invalid sorting criterion.")])
        terms.append(column.desc() if criterion.startswith("-") else column.asc())
    terms.append(tie.desc() if criteria[0].startswith("-") else tie.asc())
    return terms


def page_rows(
    conn: Connection,
    query: Select[Any],
    order_by: Sequence[ColumnElement[Any]],
    *,
    page: int,
    limit: int,
) -> tuple[list[Any], int]:
    """The rows of one page of ``query`` and the count of all its rows."""
    limit = min(limit, MAX_LIMIT)
    total = int(
        conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    )
    offset = (page - 1) * limit
    if offset >= total:
        # Past the last page (Polar answers an empty page); also keeps an offset that no
        # 64-bit column can hold away from the database.
        return [], total
    rows = conn.execute(query.order_by(*order_by).offset(offset).limit(limit))
    return list(rows), total


def page_of_query(
    conn: Connection,
    query: Select[Any],
    order_by: Sequence[ColumnElement[Any]],
    *,
    page: int,
    limit: int,
    render: Callable[[Any], T],
) -> ListResource[T]:
    """One page of ``query``, rendered, with the count of all its rows."""
    rows, total_count = page_rows(conn, query, order_by, page=page, limit=limit)
    return list_resource([render(row) for row in rows], total_count, limit)
