"""Limits on one event's properties (documented in docs/usage.md). They bound the work and
storage one event can cost, keep every number exact on both backends, and keep nested paths
short enough for filters and aggregations."""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_NUMBER",
    "MAX_PROPERTY_DEPTH",
    "MAX_PROPERTY_VALUES",
    "MAX_STRING_LENGTH",
    "check_properties",
]

# Keys and array items at every depth, counted together.
MAX_PROPERTY_VALUES = 200
# The properties object itself is depth 1; {"a": {"b": 1}} has depth 2.
MAX_PROPERTY_DEPTH = 5
MAX_KEY_LENGTH = 100
MAX_STRING_LENGTH = 1000
# 2^53: integers stay exact as doubles (JavaScript clients, SQLite REAL); sums stay exact.
MAX_NUMBER = 2**53


class _Budget:
    def __init__(self) -> None:
        self.values = 0


def _check(value: Any, depth: int, budget: _Budget) -> str | None:
    if isinstance(value, dict):
        if depth > MAX_PROPERTY_DEPTH:
            return f"nests deeper than {MAX_PROPERTY_DEPTH} levels"
        for key, item in value.items():
            if not 1 <= len(key) <= MAX_KEY_LENGTH:
                return f"keys must be 1 to {MAX_KEY_LENGTH} characters: {key[:40]!r}"
            problem = _count(budget) or _check(item, depth + 1, budget)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        if depth > MAX_PROPERTY_DEPTH:
            return f"nests deeper than {MAX_PROPERTY_DEPTH} levels"
        for item in value:
            problem = _count(budget) or _check(item, depth + 1, budget)
            if problem:
                return problem
        return None
    return _check_scalar(value)


def _count(budget: _Budget) -> str | None:
    budget.values += 1
    if budget.values > MAX_PROPERTY_VALUES:
        return f"has more than {MAX_PROPERTY_VALUES} values (keys and items at any depth)"
    return None


def _check_scalar(value: Any) -> str | None:
    if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
        return f"strings must be at most {MAX_STRING_LENGTH} characters"
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite"
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        return f"numbers must be between -{MAX_NUMBER} and {MAX_NUMBER}"
    return None


def check_properties(properties: dict[str, Any]) -> str | None:
    """Why ``properties`` breaks a limit, or None."""
    return _check(properties, 1, _Budget())
