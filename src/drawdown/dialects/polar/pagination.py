"""Polar's page/limit pagination: ``?page=1&limit=10`` in, ``{"items": [...],
"pagination": {"total_count", "max_page"}}`` out. ``limit`` above 100 is capped silently,
as Polar does; ``page`` and ``limit`` must be positive (422 otherwise)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from drawdown.errors import ValidationFailed
from drawdown.paging import Numbered, Slice, Sort

__all__ = [
    "MAX_LIMIT",
    "ListResource",
    "NoMetadataFilter",
    "PageParam",
    "Pagination",
    "PerPageParam",
    "SortingParam",
    "list_resource",
    "numbered",
    "resource",
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
        raise ValidationFailed([(["query", key], msg) for key in keys], placed=True)


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


def numbered(
    sorting: list[str] | None, fields: Collection[str], default: list[str], page: int, limit: int
) -> Numbered:
    """Polar's page, limit and sorting as a numbered page request; an unknown sorting
    criterion is Polar's 422 on it."""
    criteria = sorting or default
    sort: list[Sort] = []
    for index, criterion in enumerate(criteria):
        name = criterion.removeprefix("-")
        if name not in fields:
            raise ValidationFailed(
                [(["query", "sorting", index], "Invalid sorting criterion.")], placed=True
            )
        sort.append((name, criterion.startswith("-")))
    return Numbered(page, min(limit, MAX_LIMIT), tuple(sort))


def resource(found: Slice[Any], render: Callable[[Any], T], limit: int) -> ListResource[T]:
    return list_resource([render(item) for item in found.items], found.total or 0, limit)
