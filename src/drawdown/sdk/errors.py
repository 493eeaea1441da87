"""Errors the SDK raises.

Every failure is an :class:`APIError`. A response with an error status becomes an
:class:`APIStatusError` subclass chosen by status, carrying the server's problem details
(``code`` for machines, ``detail`` for people, ``errors`` for each bad field). A request that
never got a response is an :class:`APIConnectionError` (or :class:`APITimeoutError`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FieldError",
    "IngestBatchError",
    "InsufficientCreditsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ValidationFailedError",
    "error_from_response",
]


class APIError(Exception):
    """Base of every error this SDK raises."""


class APIConnectionError(APIError):
    """The request got no response (connection refused or reset, DNS, ...) after all retries."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(f"{message} (after {attempts} attempt{'s' if attempts != 1 else ''})")
        self.attempts = attempts


class APITimeoutError(APIConnectionError):
    """The request timed out after all retries."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: where (``("body", "events", 3, "name")``) and what is wrong."""

    loc: tuple[str | int, ...]
    msg: str


class APIStatusError(APIError):
    """The server answered with an error status (4xx/5xx)."""

    status: int
    code: str
    title: str
    detail: str
    type: str
    errors: list[FieldError]
    headers: Mapping[str, str]
    body: Any
    attempts: int

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str,
        title: str = "",
        type: str = "",
        errors: list[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors or []
        self.headers = headers or {}
        self.body = body
        self.attempts = attempts


class BadRequestError(APIStatusError):
    """400 (and any other 4xx without a class of its own)."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, unknown or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key's scope does not allow the call."""


class InsufficientCreditsError(APIStatusError):
    """402: a hold did not fit the available balance. ``available`` and ``requested`` are
    exact amounts in the hold's currency."""

    @property
    def available(self) -> Decimal | None:
        return _decimal(self.body, "available")

    @property
    def requested(self) -> Decimal | None:
        return _decimal(self.body, "requested")


def _decimal(body: Any, name: str) -> Decimal | None:
    value = body.get(name) if isinstance(body, dict) else None
    try:
        return Decimal(value) if isinstance(value, str) else None
    except ArithmeticError:
        return None


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409: a uniqueness rule, or an Idempotency-Key reused with a different body."""


class PayloadTooLargeError(APIStatusError):
    """413: the request body is over the server's limit."""


class ValidationFailedError(APIStatusError):
    """422: the input is invalid; :attr:`errors` names each field."""


class RateLimitError(APIStatusError):
    """429, once retries are exhausted."""


class ServerError(APIStatusError):
    """5xx, once retries are exhausted."""


class IngestBatchError(APIError):
    """A batch of :meth:`Client.events.ingest_all` failed.

    This batch stored nothing (a batch is atomic) and no batch was started after it;
    ``totals`` counts every batch that was stored (with ``concurrency`` > 1 that may include
    batches sent alongside it). ``error`` is the underlying failure; indexes in its field
    errors are relative to the batch, which starts at ``first_event_index`` in the input.
    Sending the same events again is safe: stored ones count as duplicates."""

    def __init__(
        self, error: APIError, *, batch_index: int, first_event_index: int, totals: Any
    ) -> None:
        super().__init__(f"batch {batch_index} (events from #{first_event_index}) failed: {error}")
        self.error = error
        self.batch_index = batch_index
        self.first_event_index = first_event_index
        self.totals = totals


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationFailedError,
    429: RateLimitError,
}


def _error_class(status: int) -> type[APIStatusError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, BadRequestError)


def _field_errors(raw: Any) -> list[FieldError]:
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, dict):
            loc = item.get("loc")
            parts = tuple(loc) if isinstance(loc, list) else ()
            out.append(FieldError(parts, str(item.get("msg", ""))))
    return out


def error_from_response(
    status: int, headers: Mapping[str, str], body_text: str, attempts: int = 1
) -> APIStatusError:
    """Build the typed error for an error response, from its problem+json body when it has
    one (a proxy's HTML error page still gives a useful error)."""
    try:
        body: Any = json.loads(body_text) if body_text else None
    except ValueError:
        body = None
    problem = body if isinstance(body, dict) else {}
    code = problem.get("code")
    detail = problem.get("detail")
    return _error_class(status)(
        status=status,
        code=code if isinstance(code, str) else "http_error",
        detail=detail if isinstance(detail, str) else (body_text[:500] or f"HTTP {status}"),
        title=str(problem.get("title", "")),
        type=str(problem.get("type", "")),
        errors=_field_errors(problem.get("errors")),
        headers=dict(headers),
        body=body if body is not None else body_text,
        attempts=attempts,
    )
