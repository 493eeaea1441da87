"""One page of a query, for either kind of page request (drawdown.paging): two statements
at most (the rows, and for numbered pages the count), whatever the page size."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, func, select

from drawdown.paging import Cursor, Numbered, PageRequest, Slice

__all__ = ["fetch_page"]

T = TypeVar("T")


def fetch_page(
    conn: Connection,
    query: Select[Any],
    id_column: ColumnElement[Any],
    page: PageRequest,
    convert: Callable[[Any], T],
    sort_columns: Mapping[str, ColumnElement[Any]] | None = None,
) -> Slice[T]:
    """``query``'s rows for ``page``: a cursor page newest first by id; a numbered page in
    its sort order (ties broken by id, in the direction of the first field), with the
    count of all rows."""
    if isinstance(page, Cursor):
        if page.after is not None:
            query = query.where(id_column < page.after)
        rows = list(conn.execute(query.order_by(id_column.desc()).limit(page.limit + 1)))
        return Slice([convert(row) for row in rows[: page.limit]], len(rows) > page.limit)
    assert isinstance(page, Numbered)
    total = int(
        conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    )
    order = _order(page, id_column, sort_columns or {})
    offset = (page.number - 1) * page.size
    if offset >= total:
        # Past the last page: an empty page, and an offset that no 64-bit column can hold
        # (Polar's page=291290744775965696) never reaches the database.
        return Slice([], False, total)
    rows = list(conn.execute(query.order_by(*order).offset(offset).limit(page.size)))
    has_more = page.number * page.size < total
    return Slice([convert(row) for row in rows], has_more, total)


def _order(
    page: Numbered, id_column: ColumnElement[Any], columns: Mapping[str, ColumnElement[Any]]
) -> list[ColumnElement[Any]]:
    if not page.sort:
        return [id_column.desc()]
    # Callers check the names against the fields they offer (an unknown one is a 422).
    terms: list[ColumnElement[Any]] = [
        columns[name].desc() if desc else columns[name].asc() for name, desc in page.sort
    ]
    terms.append(id_column.desc() if page.sort[0][1] else id_column.asc())
    return terms
