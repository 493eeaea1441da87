"""How lists are asked for and answered, the same for every domain, without SQL.

Native lists ask for a :class:`Cursor` (``limit`` items older than ``after``: ids are time
ordered, so a cursor is the last id seen and pages never shift when rows arrive). The
dialects ask for a :class:`Numbered` page (``number`` from 1, ``size`` items, with the
count of all matches), optionally sorted by named fields that the store maps to columns.
Either way a store answers with a :class:`Slice`. The SQL lives in drawdown.db.paging."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Cursor", "Numbered", "PageRequest", "Slice", "Sort"]

T = TypeVar("T")
U = TypeVar("U")

# A field name and whether it sorts descending, e.g. ("created_at", True).
Sort = tuple[str, bool]


@dataclass(frozen=True, slots=True)
class Cursor:
    limit: int
    after: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Numbered:
    number: int
    size: int
    sort: tuple[Sort, ...] = ()


PageRequest = Cursor | Numbered


@dataclass(frozen=True, slots=True)
class Slice(Generic[T]):
    items: list[T]
    has_more: bool
    # The number of all matches (numbered pages only).
    total: int | None = None

    def map(self, convert: Callable[[T], U]) -> Slice[U]:
        return Slice([convert(item) for item in self.items], self.has_more, self.total)
