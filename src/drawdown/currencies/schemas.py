from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from drawdown.money import MAX_DECIMALS
from drawdown.schemas import Timestamp

__all__ = ["CurrencyCreate", "CurrencyOut"]


class CurrencyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    symbol: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    decimals: int = Field(
        ge=0, le=MAX_DECIMALS, description="Decimal places of an amount (2 for cents)"
    )


class CurrencyOut(BaseModel):
    object: Literal["currency"] = "currency"
    id: str
    name: str
    symbol: str
    decimals: int
    livemode: bool
    created_at: Timestamp
