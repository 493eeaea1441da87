"""The one check every request's text passes: no NUL, no lone surrogate, no non-finite number.

PostgreSQL refuses NUL in text (a 500 if it got that far) while SQLite stores it; a lone
surrogate (``"\\udfff"`` in JSON) cannot be encoded as UTF-8, so SQLite stored it and then
failed every read of the row, and PostgreSQL failed at write. ``NaN``/``Infinity`` (which
Python's JSON parser accepts, and which ``1e999`` becomes) are not JSON numbers at all. So
both databases answer the same, every string and number of the JSON body, the query string
and the path is checked here, once, before any route sees it, and refused with a
validation error naming the field (422; each surface renders it in its own shape)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import Request

from drawdown.errors import FieldError, ValidationFailed

__all__ = ["check_request_text", "text_errors"]

# Lone surrogates; a valid pair never survives decoding as two code points in str.
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
# Raw bodies that may hold something to refuse: an escape (\u0000, \udfff), a non-finite
# literal, or an exponent large enough to overflow a float. Anything else skips the walk.
_SUSPECT_BODY = re.compile(rb"\\u|NaN|Infinity|[eE][+]?[0-9]{3}")
_MAX_ERRORS = 20


def _string_message(value: str) -> str | None:
    match = _BAD_CHARS.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "must not contain NUL characters (\\u0000)"
    return "must not contain unpaired surrogate characters (\\ud800-\\udfff)"


def _walk(value: Any, loc: list[str | int]) -> Iterator[FieldError]:
    if isinstance(value, str):
        msg = _string_message(value)
        if msg is not None:
            yield loc, msg
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield loc, "must be a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            key_msg = _string_message(key) if isinstance(key, str) else None
            if key_msg is not None:
                yield loc, "keys " + key_msg
            else:
                yield from _walk(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, [*loc, index])


def text_errors(value: Any, loc: Sequence[str | int]) -> list[FieldError]:
    """Every offending string or number in a parsed JSON value (at most 20), by location."""
    errors: list[FieldError] = []
    for error in _walk(value, list(loc)):
        errors.append(error)
        if len(errors) >= _MAX_ERRORS:
            break
    return errors


async def check_request_text(request: Request) -> None:
    """An app-wide dependency: refuse the request if its path, query or JSON body holds text
    no database stores the same way. The body was already parsed by FastAPI (the parse is
    cached on the request), and the walk runs only when the raw bytes could hold a problem."""
    errors: list[FieldError] = []
    for name, value in request.path_params.items():
        if isinstance(value, str):
            errors += text_errors(value, ["path", name])
    for key, value in request.query_params.multi_items():
        errors += text_errors(key, ["query"]) or text_errors(value, ["query", key])
    body = await request.body()
    if body and _SUSPECT_BODY.search(body) and "json" in request.headers.get("content-type", ""):
        try:
            parsed = await request.json()
        except ValueError:
            parsed = None  # FastAPI answers malformed JSON itself
        errors += text_errors(parsed, ["body"])
    if errors:
        raise ValidationFailed(errors[:_MAX_ERRORS], placed=True)
