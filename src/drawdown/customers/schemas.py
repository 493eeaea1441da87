from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from drawdown.schemas import CustomerId, Metadata, Timestamp

__all__ = ["CustomerCreate", "CustomerOut", "CustomerUpdate"]

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_EMAIL = re.compile(EMAIL_PATTERN)


def _email(value: str) -> str:
    # Pydantic's own message would show the raw pattern to the caller.
    if not _EMAIL.match(value):
        raise PydanticCustomError("email", "must be an email address such as user@example.com")
    return value


Email = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}, mode="validation"),
]
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
    id: CustomerId
    external_id: str | None
    email: str | None
    name: str | None
    metadata: dict[str, str | int | float | bool]
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp
