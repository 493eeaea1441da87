"""The event types drawdown sends, in one place, so endpoints can be validated against them."""

from __future__ import annotations

__all__ = ["ALL_TYPES", "EVENT_TYPES", "is_known_type"]

ALL_TYPES = "*"

EVENT_TYPES: tuple[str, ...] = (
    "credit_grant.created",
    "credit_grant.depleted",
    "credit_grant.expired",
    "credit_grant.voided",
    "credit.balance_low",
    "credit.balance_depleted",
    "credit.balance_recovered",
    "credit.debt_incurred",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "meter.created",
    "meter.updated",
    "webhook.test",
    "webhook_endpoint.disabled",
    # Emitted through the same outbox by holds and top-ups.
    "hold.created",
    "hold.captured",
    "hold.released",
    "hold.expired",
    "topup.requested",
    "topup.succeeded",
    "topup.failed",
    "topup.expired",
)

_KNOWN = frozenset(EVENT_TYPES)


def is_known_type(name: str) -> bool:
    return name == ALL_TYPES or name in _KNOWN
