from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from drawdown.meters.filters import Filter, PropertyPath
from drawdown.money import AmountError, to_decimal
from drawdown.schemas import Metadata, Timestamp

__all__ = [
    "MAX_RATE",
    "MAX_RATE_DECIMALS",
    "Aggregation",
    "AggregationFunc",
    "MeterCreate",
    "MeterOut",
    "MeterUpdate",
    "parse_rate",
]

AggregationFunc = Literal["sum", "count", "max", "min", "avg", "unique", "latest"]
MAX_RATE = Decimal(10) ** 12
MAX_RATE_DECIMALS = 18

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Rate = Annotated[
    str | int | float,
    Field(description="Credits per unit of usage, an exact decimal (default 1)"),
]


def parse_rate(value: object) -> str:
    """A rate as its canonical decimal text: 0 to 10^12, at most 18 decimal places."""
    try:
        rate = to_decimal(value)
    except AmountError as exc:
        raise ValueError(str(exc)) from None
    if rate < 0:
        raise ValueError("must not be negative")
    if rate > MAX_RATE:
        raise ValueError(f"must be at most {MAX_RATE}")
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_RATE_DECIMALS:
        raise ValueError(f"has more than {MAX_RATE_DECIMALS} decimal places")
    return format(rate.normalize(), "f")


class Aggregation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    func: AggregationFunc
    property: PropertyPath | None = Field(
        default=None, description="The event property aggregated (all but count need one)"
    )

    @model_validator(mode="after")
    def _property_fits_func(self) -> Aggregation:
        if self.func == "count" and self.property is not None:
            raise ValueError("count takes no property")
        if self.func != "count" and self.property is None:
            raise ValueError(f"{self.func} needs a property")
        return self


class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    event_name: EventName
    filter: Filter | None = None
    aggregation: Aggregation
    unit: Unit = ""
    description: Description = ""
    metadata: Metadata = Field(default_factory=dict)
    currency_id: str | None = Field(
        default=None, description="The currency credits are drawn in; one is created if absent"
    )
    rate: Rate = "1"

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: object) -> str:
        return parse_rate(value)


class MeterUpdate(BaseModel):
    """Only the fields sent change. filter and aggregation can change only while no event of
    the meter's event_name is stored; event_name and currency_id never change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    unit: Unit | None = None
    metadata: Metadata | None = None
    rate: Rate | None = None
    filter: Filter | None = None
    aggregation: Aggregation | None = None

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: object) -> str | None:
        return None if value is None else parse_rate(value)


class AggregationOut(BaseModel):
    func: AggregationFunc
    property: str | None


class MeterOut(BaseModel):
    object: Literal["meter"] = "meter"
    id: str
    name: str
    event_name: str
    filter: dict[str, Any] | None
    aggregation: AggregationOut
    unit: str
    description: str
    metadata: dict[str, str | int | float | bool]
    currency_id: str
    rate: str
    status: Literal["active", "inactive"]
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp
