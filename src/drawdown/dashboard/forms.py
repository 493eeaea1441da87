"""Errors shown next to the field they are about: pydantic's and the services' (the same
messages the API returns), keyed by form field name."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from drawdown.errors import ConflictError, DrawdownError, ValidationFailed

__all__ = ["FormErrors", "attempt", "build", "errors_of", "metadata_field"]

FormErrors = dict[str, str]
M = TypeVar("M", bound=BaseModel)
GENERAL = "_form"


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _key(loc: Sequence[str | int], aliases: Mapping[str, str]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query")]
    dotted = ".".join(parts)
    for prefix, name in aliases.items():
        if dotted == prefix or dotted.startswith(prefix + "."):
            return name
    return parts[0] if parts else GENERAL


def errors_of(
    exc: ValidationError | DrawdownError,
    aliases: Mapping[str, str] | None = None,
    conflicts: Mapping[str, str] | None = None,
) -> FormErrors:
    """One message per field (the first); ``conflicts`` maps a 409's code to its field."""
    aliases = aliases or {}
    out: FormErrors = {}
    pairs: list[tuple[Sequence[str | int], str]]
    if isinstance(exc, ValidationError):
        pairs = [(err["loc"], _message(str(err["msg"]))) for err in exc.errors()]
    elif isinstance(exc, ValidationFailed):
        pairs = [(loc, msg) for loc, msg in exc.errors]
    elif isinstance(exc, ConflictError) and conflicts and exc.code in conflicts:
        pairs = [((conflicts[exc.code],), exc.detail)]
    else:
        pairs = [((GENERAL,), exc.detail)]
    for loc, msg in pairs:
        out.setdefault(_key(loc, aliases), msg)
    return out


def build(
    model: type[M], data: Mapping[str, object], aliases: Mapping[str, str] | None = None
) -> tuple[M | None, FormErrors]:
    """The API's request model from form data, or the errors it names."""
    try:
        return model.model_validate(dict(data)), {}
    except ValidationError as exc:
        return None, errors_of(exc, aliases)


def attempt(
    action: Callable[[], object],
    aliases: Mapping[str, str] | None = None,
    conflicts: Mapping[str, str] | None = None,
) -> tuple[object | None, FormErrors]:
    """Run a write; a domain error becomes form errors (anything else propagates)."""
    try:
        return action(), {}
    except (ValidationFailed, ConflictError) as exc:
        return None, errors_of(exc, aliases, conflicts)
    except DrawdownError as exc:
        if exc.status in (401, 403):
            raise
        return None, errors_of(exc, aliases, conflicts)


def metadata_field(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """A metadata textarea (a JSON object, as the API takes it; blank is no metadata), or
    why it is not one. The request model then checks keys and values."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"is not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, 'must be a JSON object such as {"plan": "pro"}'
    return value, None
