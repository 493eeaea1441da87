"""Polar's filter clause language, compiled twice with one meaning: to a Python predicate
(ingest matches events to meters without a query) and to SQL (usage, event lists).

A clause ``{property, operator, value}`` reads ``name`` (the event name, a string),
``timestamp`` (the event time in whole epoch seconds, an integer) or any other dot path into
the event's properties (``properties.`` as a prefix reaches a property called ``name`` or
``timestamp``). The value's type picks the comparison: a string compares strings (by code
point), an integer compares numbers, a boolean compares booleans (eq/ne only). A clause whose
property is missing or of another JSON type is false, ``ne`` and ``not_like`` included.
``like``/``not_like`` mean "contains"/"does not contain", case-sensitive. An empty clause
list is true."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    true,
)

from drawdown.db.portable import JsonPath

__all__ = [
    "MAX_FILTER_CLAUSES",
    "MAX_FILTER_DEPTH",
    "Filter",
    "FilterClause",
    "Matcher",
    "PropertyPath",
    "compile_sql",
    "lookup",
    "matcher_for",
    "split_path",
]

MAX_FILTER_DEPTH = 5
MAX_FILTER_CLAUSES = 50
MAX_FILTER_STRING = 1000
# Integers in filters stay exact as doubles, so every backend compares them the same way.
MAX_FILTER_INT = 2**53

Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "like", "not_like"]
PropertyPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$",
        description="A dot path into the event's properties (letters, digits, _ and -)",
    ),
]
FilterValue = (
    Annotated[StrictStr, Field(max_length=MAX_FILTER_STRING)]
    | Annotated[StrictInt, Field(ge=-MAX_FILTER_INT, le=MAX_FILTER_INT)]
    | StrictBool
)
Matcher = Callable[[str, int, Mapping[str, Any]], bool]


class FilterClause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property: PropertyPath
    operator: Operator
    value: FilterValue

    @model_validator(mode="after")
    def _operator_fits_value(self) -> FilterClause:
        if self.operator in ("like", "not_like") and not isinstance(self.value, str):
            raise ValueError(f"operator {self.operator} needs a string value")
        if isinstance(self.value, bool) and self.operator not in ("eq", "ne"):
            raise ValueError("a boolean value allows only eq and ne")
        return self


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conjunction: Literal["and", "or"] = "and"
    clauses: list[FilterClause | Filter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounded(self) -> Filter:
        depth, count = _measure(self)
        if depth > MAX_FILTER_DEPTH:
            raise ValueError(f"filters nest at most {MAX_FILTER_DEPTH} levels")
        if count > MAX_FILTER_CLAUSES:
            raise ValueError(f"a filter has at most {MAX_FILTER_CLAUSES} clauses")
        return self


def _measure(node: Filter) -> tuple[int, int]:
    depth, count = 1, 0
    for clause in node.clauses:
        if isinstance(clause, Filter):
            sub_depth, sub_count = _measure(clause)
            depth, count = max(depth, sub_depth + 1), count + sub_count
        else:
            count += 1
    return depth, count


def split_path(path: str) -> list[str]:
    """A property path as its keys; ``properties.`` is an optional prefix."""
    return path.removeprefix("properties.").split(".")


_MISSING = object()


def lookup(properties: Mapping[str, Any], keys: list[str]) -> Any:
    """The value at ``keys`` (through objects only), or a sentinel when absent."""
    node: Any = properties
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---- Python ---------------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "like": lambda a, b: b in a,
    "not_like": lambda a, b: b not in a,
}


def _same_kind(actual: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return isinstance(actual, bool)
    if isinstance(value, int):
        return is_number(actual)
    return isinstance(actual, str)


def _clause_matcher(clause: dict[str, Any]) -> Matcher:
    prop, value, compare = clause["property"], clause["value"], _COMPARE[clause["operator"]]
    if prop == "name":
        return lambda name, ts, props: isinstance(value, str) and compare(name, value)
    if prop == "timestamp":
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return lambda name, ts, props: is_int and compare(ts // 1_000_000, value)
    keys = split_path(prop)

    def match(name: str, ts: int, props: Mapping[str, Any]) -> bool:
        actual = lookup(props, keys)
        return actual is not _MISSING and _same_kind(actual, value) and compare(actual, value)

    return match


def _node_matcher(node: dict[str, Any]) -> Matcher:
    parts = [_node_matcher(c) if "clauses" in c else _clause_matcher(c) for c in node["clauses"]]
    if node.get("conjunction", "and") == "or":
        if not parts:
            return lambda name, ts, props: True
        return lambda name, ts, props: any(p(name, ts, props) for p in parts)
    return lambda name, ts, props: all(p(name, ts, props) for p in parts)


_cache: dict[str, Matcher] = {}
_CACHE_MAX = 4096


def matcher_for(filter_json: dict[str, Any] | None) -> Matcher:
    """The compiled predicate of a stored filter, cached by its canonical text (so a meter's
    filter is compiled once, and an updated filter is compiled again)."""
    if not filter_json:
        return lambda name, ts, props: True
    key = json.dumps(filter_json, sort_keys=True)
    found = _cache.get(key)
    if found is None:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        found = _cache[key] = _node_matcher(filter_json)
    return found


# ---- SQL ------------------------------------------------------------------------------------


def _compare_sql(left: Any, operator: str, value: Any, is_sqlite: bool) -> ColumnElement[bool]:
    if operator in ("like", "not_like"):
        position = func.instr(left, value) if is_sqlite else func.strpos(left, value)
        return position > 0 if operator == "like" else position == 0
    if isinstance(value, str) and not is_sqlite:
        left = left.collate("C")  # byte order, as SQLite's BINARY and Python compare
    ops: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return ops[operator](left, literal(value))


def _timestamp_sql(ts: Any, operator: str, seconds: int) -> ColumnElement[bool]:
    # Whole-second comparisons as integer ranges of microseconds (floor semantics).
    low, high = seconds * 1_000_000, (seconds + 1) * 1_000_000
    table: dict[str, ColumnElement[bool]] = {
        "eq": and_(ts >= low, ts < high),
        "ne": or_(ts < low, ts >= high),
        "gt": ts >= high,
        "gte": ts >= low,
        "lt": ts < low,
        "lte": ts < high,
    }
    return table.get(operator, false())


def _clause_sql(clause: dict[str, Any], cols: Any, is_sqlite: bool) -> ColumnElement[bool]:
    prop, operator, value = clause["property"], clause["operator"], clause["value"]
    if prop == "name":
        if not isinstance(value, str):
            return false()
        return _compare_sql(cols.name, operator, value, is_sqlite)
    if prop == "timestamp":
        if not isinstance(value, int) or isinstance(value, bool):
            return false()
        return _timestamp_sql(cols.timestamp, operator, value)
    path = JsonPath(cols.properties, split_path(prop), is_sqlite)
    if isinstance(value, bool):
        return path.is_bool(value if operator == "eq" else not value)
    if isinstance(value, int):
        guard, left = path.is_number(), path.number()
    else:
        guard, left = path.is_string(), path.text()
    # CASE keeps the cast from running on values of another type.
    test = _compare_sql(left, operator, value, is_sqlite)
    return case((guard, test), else_=false()) == true()


def compile_sql(filter_json: dict[str, Any] | None, cols: Any, is_sqlite: bool) -> Any:
    """The filter as a SQL condition over a table with name, timestamp, properties."""
    if not filter_json:
        return true()
    parts = [
        compile_sql(c, cols, is_sqlite) if "clauses" in c else _clause_sql(c, cols, is_sqlite)
        for c in filter_json["clauses"]
    ]
    if not parts:
        return true()
    return or_(*parts) if filter_json.get("conjunction", "and") == "or" else and_(*parts)
