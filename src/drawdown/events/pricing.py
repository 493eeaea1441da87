"""Which meter consumes an event, and for how much: the Usage handed to the credit engine.

Only active sum and count meters consume. count: ``rate`` per event; sum: the property's
value x ``rate``. Both are rounded half to even into the currency's base units. An event
whose sum property is missing or not a number is stored and counted by nothing here (it
consumes no credits); a zero amount books nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from drawdown.consumption import Usage
from drawdown.meters.filters import Matcher, is_number, lookup, matcher_for, split_path
from drawdown.money import AmountError, to_decimal, units_from_decimal

__all__ = ["CREDIT_EXPIRES_AT", "PricedMeter", "price", "priced_meters", "usage_for"]

# An event property that sets when the grant made by a negative event expires (else never).
CREDIT_EXPIRES_AT = "credit_expires_at"
_AWARE = TypeAdapter(AwareDatetime)


@dataclass(frozen=True, slots=True)
class PricedMeter:
    meter_id: uuid.UUID
    event_name: str
    active: bool
    func: str
    keys: list[str]
    rate: Decimal
    currency_id: uuid.UUID
    decimals: int
    matches: Matcher


def priced_meters(rows: Iterable[Any]) -> dict[str, PricedMeter]:
    """Meters (rows with the currency's decimals) by event_name, filters compiled (cached)."""
    return {
        row.event_name: PricedMeter(
            meter_id=row.id,
            event_name=row.event_name,
            active=row.status == "active",
            func=row.aggregation_func,
            keys=split_path(row.aggregation_property) if row.aggregation_property else [],
            rate=Decimal(row.rate),
            currency_id=row.currency_id,
            decimals=row.decimals,
            matches=matcher_for(row.filter),
        )
        for row in rows
    }


def price(meter: PricedMeter, name: str, ts_us: int, properties: Mapping[str, Any]) -> int:
    """Base units this event consumes on ``meter`` (negative grants); 0 for nothing.
    Raises AmountError when the amount is too large."""
    if not meter.active or meter.func not in ("sum", "count"):
        return 0
    if not meter.matches(name, ts_us, properties):
        return 0
    if meter.func == "count":
        value: Any = 1
    else:
        value = lookup(properties, meter.keys)
        if not is_number(value):
            return 0
    try:
        return units_from_decimal(to_decimal(value) * meter.rate, meter.decimals)
    except InvalidOperation:  # beyond the decimal context's 28 digits
        raise AmountError("is too large") from None


def credit_expiry(properties: Mapping[str, Any]) -> datetime | None:
    """The ``credit_expires_at`` property as an aware datetime; ValueError if malformed."""
    raw = properties.get(CREDIT_EXPIRES_AT)
    if raw is None:
        return None
    try:
        return _AWARE.validate_python(raw)
    except ValidationError:
        raise ValueError("must be an RFC 3339 time with an offset") from None


def usage_for(
    meter: PricedMeter,
    event_id: uuid.UUID,
    customer_id: uuid.UUID,
    amount_units: int,
    timestamp: datetime,
    properties: Mapping[str, Any],
) -> Usage:
    expires_at = credit_expiry(properties) if amount_units < 0 else None
    return Usage(
        event_id=event_id,
        customer_id=customer_id,
        currency_id=meter.currency_id,
        amount_units=amount_units,
        timestamp=timestamp,
        expires_at=expires_at,
    )
