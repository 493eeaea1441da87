"""What the sync and async clients share: a described request (:class:`Call`), the retry
policy, and turning a response into a result or a typed error.

Retries: connection errors, timeouts, 429 and 5xx are retried with exponential backoff and
jitter; a ``Retry-After`` header (seconds or an HTTP date) is honoured when it asks for at
most ``max_retry_after_s``. A creating POST carries one ``Idempotency-Key`` for all its
attempts, so the server replays the first response instead of creating twice."""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx
from pydantic_core import to_jsonable_python

from drawdown.sdk.errors import (
    APIConnectionError,
    APITimeoutError,
    error_from_response,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT_S",
    "Call",
    "ClientOptions",
    "RetryPolicy",
]

log = logging.getLogger("drawdown.sdk")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 3
API_KEY_ENV = "DRAWDOWN_API_KEY"
BASE_URL_ENV = "DRAWDOWN_BASE_URL"
USER_AGENT = "drawdown-python/0.1.0"
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Call(Generic[R]):
    """One API call, described once and sent (perhaps several times) by a client."""

    method: str
    path: str
    parse: Callable[[Any], R]
    params: Mapping[str, str] | None = None
    body: Any = None
    # Set on POSTs that create: the same key goes with every attempt.
    idempotency_key: str | None = None

    def headers(self) -> dict[str, str]:
        out = {"Idempotency-Key": self.idempotency_key} if self.idempotency_key else {}
        if self.body is not None:
            out["Content-Type"] = "application/json"
        return out

    def content(self) -> bytes | None:
        if self.body is None:
            return None
        return json.dumps(to_jsonable_python(self.body), separators=(",", ":")).encode()


def new_idempotency_key() -> str:
    return f"sdk-{uuid.uuid4()}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0

    def backoff_delay_s(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of base x 2^attempt."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0**attempt)
        return ceiling / 2 + random.random() * ceiling / 2

    def delay_s(self, attempt: int, retry_after: str | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 0), or
        None when the call should fail now."""
        if attempt >= self.max_retries:
            return None
        asked = parse_retry_after(retry_after)
        if asked is None:
            return self.backoff_delay_s(attempt)
        return asked if asked <= self.max_retry_after_s else None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: a non-negative number, or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class ClientOptions:
    api_key: str
    base_url: str
    timeout_s: float
    retry: RetryPolicy

    @classmethod
    def build(
        cls,
        api_key: str | None,
        base_url: str | None,
        timeout_s: float,
        max_retries: int,
        backoff_s: float,
        max_backoff_s: float,
    ) -> ClientOptions:
        key = api_key or os.environ.get(API_KEY_ENV)
        if not key:
            raise ValueError(f"no API key: pass api_key= or set {API_KEY_ENV}")
        if max_retries < 0 or timeout_s <= 0:
            raise ValueError("max_retries must be >= 0 and timeout_s > 0")
        url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        policy = RetryPolicy(max_retries, backoff_s, max_backoff_s)
        return cls(key, url.rstrip("/"), timeout_s, policy)

    def default_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }


def result_or_error(call: Call[R], response: httpx.Response, attempts: int) -> R:
    """The parsed result of a successful response; raise the typed error otherwise."""
    if response.is_success:
        return call.parse(response.json() if response.content else None)
    raise error_from_response(response.status_code, response.headers, response.text, attempts)


def retry_delay_s(
    policy: RetryPolicy, call: Call[Any], attempt: int, outcome: httpx.Response | Exception
) -> float | None:
    """How long to wait before retrying ``call`` after ``outcome``, or None to stop."""
    if isinstance(outcome, httpx.Response):
        if outcome.status_code not in RETRY_STATUSES:
            return None
        delay = policy.delay_s(attempt, outcome.headers.get("retry-after"))
        reason = f"HTTP {outcome.status_code}"
    else:
        delay = policy.delay_s(attempt, None)
        reason = type(outcome).__name__
    if delay is not None:
        log.info(
            "retrying %s %s in %.3fs (attempt %d failed: %s)",
            call.method,
            call.path,
            delay,
            attempt + 1,
            reason,
            extra={"drawdown_retry_delay_s": delay, "drawdown_attempt": attempt + 1},
        )
    return delay


def connection_error(exc: httpx.TransportError, call: Call[Any], attempts: int) -> Exception:
    message = f"{call.method} {call.path}: {type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(message, attempts=attempts)
    return APIConnectionError(message, attempts=attempts)


# Query-string and body helpers used by the resource call builders.


def query(**values: Any) -> dict[str, str]:
    """Query parameters: None dropped, times as RFC 3339 UTC, booleans lower case."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name.rstrip("_")] = encode_value(value)
    return out


def encode_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. tzinfo=UTC)")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def amount(value: Decimal | str | int, name: str = "amount") -> str:
    """An exact amount for the API. Floats are refused: they cannot say 0.1 exactly."""
    if isinstance(value, (float, bool)):
        raise TypeError(f"{name} must be a Decimal, str or int, not {type(value).__name__}")
    return str(value)
