"""What ingest hands the credit engine: one consuming event, already priced.

This is the contract between ``events`` (which matches events to meters and prices them)
and ``credits`` (which draws grants down); it lives above both so neither imports the
other. Ingest builds one :class:`Usage` per stored, non-duplicate event that a sum or count
meter consumes, and drawdown.flows hands the batch to
:func:`drawdown.credits.drawdown.apply_usage` inside the ingest transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    event_id: uuid.UUID
    customer_id: uuid.UUID
    currency_id: uuid.UUID
    # value x meter rate in the currency's base units (drawdown.money.units_from_decimal).
    # Positive draws credits down; negative grants credits (a promotional grant of that size).
    amount_units: int
    # The event's timestamp: grants active then are drawn first, then grants active now.
    timestamp: datetime
    # For a negative (granting) event: when the created grant expires, if the event said so.
    expires_at: datetime | None = None
