"""Field types shared by every domain's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, PlainSerializer

__all__ = [
    "MAX_METADATA_KEYS",
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_VALUE_LENGTH",
    "Metadata",
    "MetadataValue",
    "Timestamp",
]

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500

MetadataValue = Annotated[str, Field(max_length=MAX_METADATA_VALUE_LENGTH)] | int | float | bool


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
Timestamp = Annotated[datetime, PlainSerializer(_iso, return_type=str)]
AwareTimestamp = AwareDatetime
