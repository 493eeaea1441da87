"""The drawdown Python SDK: :class:`Client`, :class:`AsyncClient`, typed results and errors.

Needs only httpx and pydantic; importing it never loads the server."""

from __future__ import annotations

from drawdown.sdk._calls import OMIT
from drawdown.sdk.async_client import AsyncClient
from drawdown.sdk.client import Client
from drawdown.sdk.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldError,
    IngestBatchError,
    InsufficientCreditsError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationFailedError,
)
from drawdown.sdk.holds import AsyncReservation, Reservation
from drawdown.sdk.models import (
    Access,
    Balance,
    CreditGrant,
    CreditTransaction,
    Currency,
    Customer,
    Event,
    Hold,
    IngestResult,
    IngestTotals,
    Meter,
    MeterAggregation,
    MeterUsage,
    Page,
    UsageBucket,
)
from drawdown.sdk.topup_models import Topup, TopupRule
from drawdown.sdk.webhook_models import (
    AlertThreshold,
    BalanceAlert,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookScheduled,
)

__all__ = [
    "OMIT",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Access",
    "AlertThreshold",
    "AsyncClient",
    "AsyncReservation",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "BalanceAlert",
    "Client",
    "ConflictError",
    "CreditGrant",
    "CreditTransaction",
    "Currency",
    "Customer",
    "Event",
    "FieldError",
    "Hold",
    "IngestBatchError",
    "IngestResult",
    "IngestTotals",
    "InsufficientCreditsError",
    "Meter",
    "MeterAggregation",
    "MeterUsage",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "Reservation",
    "ServerError",
    "Topup",
    "TopupRule",
    "UsageBucket",
    "ValidationFailedError",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookScheduled",
]
