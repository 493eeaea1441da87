"""The little SQL the dialect needs of its own: page-number pagination (Payment Kit's
``page``/``pageSize`` with a total ``count``) over queries the domain stores build."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Select, func, select

__all__ = ["count_and_page"]


def count_and_page(
    conn: Connection, query: Select[Any], order_column: Column[Any], page: int, page_size: int
) -> tuple[int, Sequence[Any]]:
    """The number of rows ``query`` matches, and page ``page`` (1-based) of them, newest
    first (ids are time-ordered)."""
    count = int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    rows = conn.execute(
        query.order_by(order_column.desc()).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return count, rows
