"""Field types shared by every domain's request and response models."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from drawdown.ids import render_id

__all__ = [
    "AMOUNT_PATTERN",
    "MAX_METADATA_KEYS",
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_VALUE_LENGTH",
    "Amount",
    "CustomerId",
    "Instant",
    "Metadata",
    "MetadataValue",
    "PlainUuid",
    "QueryInstant",
    "QueryTime",
    "Timestamp",
]

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500

# Strict: a too-long string of digits must not pass as an integer, nor 0 as a boolean.
MetadataValue = (
    Annotated[str, Field(max_length=MAX_METADATA_VALUE_LENGTH)]
    | StrictInt
    | StrictFloat
    | StrictBool
)


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys")
    for key in value:
        if not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
            raise ValueError(f"keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters: {key!r}")
    return value


Metadata = Annotated[
    dict[str, MetadataValue],
    AfterValidator(_check_metadata),
    Field(
        description=(
            f"Up to {MAX_METADATA_KEYS} keys of 1-{MAX_METADATA_KEY_LENGTH} characters; "
            f"values are strings (up to {MAX_METADATA_VALUE_LENGTH} characters), "
            "integers, floats or booleans."
        )
    ),
]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# Responses render times as RFC 3339 in UTC with a Z.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
AwareTimestamp = AwareDatetime


def _to_utc(value: datetime) -> datetime:
    """In UTC, or a clear error: an offset at the edge of the calendar
    (``9999-12-31T23:59:59-23:59``) has no UTC instant a datetime can hold."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_range", "must be a time between years 1 and 9999 in UTC"
        ) from None


# A time in a request body: RFC 3339 with an offset, converted to UTC.
Instant = Annotated[AwareDatetime, AfterValidator(_to_utc)]
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")


def _not_a_number(value: object) -> object:
    # Pydantic reads "0.5" as a unix time; the schema says an RFC 3339 date-time.
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise PydanticCustomError("datetime_format", "must be an RFC 3339 date-time")
    return value


# A time in a query string: RFC 3339 (never a bare number).
QueryTime = Annotated[datetime, BeforeValidator(_not_a_number)]
# The same with an offset, converted to UTC.
QueryInstant = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_to_utc)]

# A decimal amount in human units: a string such as "12.50", or an integer.
AMOUNT_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
# Laxer than the pattern: a sign or an exponent passes here so that the service can say
# what is wrong ("must not be negative", "is too large").
_AMOUNT_TEXT = re.compile(r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_AMOUNT_MESSAGE = 'must be a decimal string such as "12.50" or an integer'


def _amount(value: object) -> str | int:
    # One plain message for every wrong type: a union would report one error per member
    # ("amount.constrained-str: ...; amount.int: ...").
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= 40 and _AMOUNT_TEXT.match(value.strip()):
        return value.strip()
    raise PydanticCustomError("amount", _AMOUNT_MESSAGE)


Amount = Annotated[
    str | int,
    PlainValidator(_amount),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": AMOUNT_PATTERN, "maxLength": 40},
                {"type": "integer", "minimum": 0},
            ],
            "description": 'A decimal amount in the currency\'s units, e.g. "12.50"',
        },
        mode="validation",
    ),
]


def _rendered(render: Callable[[uuid.UUID], str]) -> Callable[[object], object]:
    def to_text(value: object) -> object:
        return render(value) if isinstance(value, uuid.UUID) else value

    return to_text


# Ids in responses: a model is built from the stored UUID and holds (and sends) the id as
# its surface shows it, so no render function writes the prefix by hand.
CustomerId = Annotated[str, BeforeValidator(_rendered(lambda value: render_id("customer", value)))]
# The Polar dialect's ids: the plain UUID (8-4-4-4-12).
PlainUuid = Annotated[str, BeforeValidator(_rendered(str))]
