from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from drawdown.schemas import Metadata, Timestamp

__all__ = ["CustomerCreate", "CustomerOut", "CustomerUpdate"]

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Name = Annotated[str, StringConstraints(max_length=255)]


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId | None = Field(
        default=None, description="Your own id for this customer, unique per mode"
    )
    email: Email | None = None
    name: Name | None = None
    metadata: Metadata = Field(default_factory=dict)


class CustomerUpdate(BaseModel):
    """Only the fields sent change. external_id can be set once, never changed."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId | None = None
    email: Email | None = None
    name: Name | None = None
    metadata: Metadata | None = None


class CustomerOut(BaseModel):
    object: Literal["customer"] = "customer"
    id: str
    external_id: str | None
    email: str | None
    name: str | None
    metadata: dict[str, str | int | float | bool]
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp
