"""The error hierarchy and its one JSON rendering (RFC 9457 problem details).

Every failure the native API returns has this shape::

    {"type": "https://drawdown.dev/errors/not_found", "title": "Not found",
     "status": 404, "code": "not_found", "detail": "No customer cus_...",
     "errors": [{"loc": ["body", "email"], "msg": "..."}]}   # validation only

``code`` is stable and meant for machines; ``detail`` is for people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DrawdownError",
    "FieldError",
    "InsufficientCreditsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ValidationFailed",
    "field",
    "problem",
    "request_field",
]

PROBLEM_TYPE_BASE = "https://drawdown.dev/errors/"

FieldError = tuple[Sequence[str | int], str]


class DrawdownError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]

    def body(self) -> dict[str, Any]:
        return problem(self.status, self.code, self.title, self.detail)


class AuthenticationError(DrawdownError):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"


class PermissionDeniedError(DrawdownError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class InsufficientCreditsError(DrawdownError):
    """402: a hold does not fit the available balance. ``available`` and ``requested`` are
    decimal strings in the hold's currency."""

    status = 402
    code = "insufficient_credits"
    title = "Insufficient credits"

    def __init__(self, detail: str, *, available: str, requested: str) -> None:
        super().__init__(detail)
        self.available = available
        self.requested = requested

    def body(self) -> dict[str, Any]:
        out = super().body()
        out["available"], out["requested"] = self.available, self.requested
        return out


class NotFoundError(DrawdownError):
    status = 404
    code = "not_found"
    title = "Not found"


class ConflictError(DrawdownError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLargeError(DrawdownError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class RateLimitedError(DrawdownError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class ValidationFailed(DrawdownError):
    """Bad input, with each offending field named by its location.

    A service names the fields of what it was given: ``["amount"]``, or
    ``["events", 3, "name"]`` for the name of a batch's fourth event (:meth:`within` nests a
    part's failure under the part's field). The HTTP edge that took that input from the
    request places the failure there (:meth:`placed_in` ``"body"`` gives
    ``["body", "amount"]``); a failure the edge builds itself is placed from the start
    (``placed=True``). Placing happens once: a placed failure keeps its locations."""

    status = 422
    code = "validation_error"
    title = "Validation failed"

    def __init__(
        self, errors: Sequence[FieldError], *, detail: str | None = None, placed: bool = False
    ) -> None:
        assert errors, "a validation failure names at least one field"
        self.errors = [(list(loc), msg) for loc, msg in errors]
        self.placed = placed
        self._given_detail = detail
        super().__init__(self._summary())

    def _summary(self) -> str:
        given = self._given_detail
        return given or "; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in self.errors[:5])

    def within(self, *prefix: str | int) -> Self:
        """This failure of a part, as a failure of the whole whose field ``prefix`` holds
        the part."""
        assert not self.placed, "a failure placed in a request is not nested further"
        self.errors = [([*prefix, *loc], msg) for loc, msg in self.errors]
        self.detail = self._summary()
        self.args = (self.detail,)
        return self

    def placed_in(self, *part: str | int) -> Self:
        """This failure placed in the request's ``part`` (``"body"``, ``"query"``)."""
        if not self.placed:
            self.within(*part)
            self.placed = True
        return self

    def body(self) -> dict[str, Any]:
        out = super().body()
        out["errors"] = [{"loc": loc, "msg": msg} for loc, msg in self.errors]
        return out


def field(loc: str | Sequence[str | int], msg: str) -> ValidationFailed:
    """Shorthand for a validation failure on one field: ``field("amount", "...")``."""
    return ValidationFailed([([loc] if isinstance(loc, str) else loc, msg)])


def request_field(loc: Sequence[str | int], msg: str) -> ValidationFailed:
    """A failure on one field the HTTP layer read itself, located in full in the request
    (``["query", "starting_after"]``)."""
    return ValidationFailed([(loc, msg)], placed=True)


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def problem(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
