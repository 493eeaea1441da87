"""Request and response models of /v1/webhooks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from drawdown.schemas import AwareTimestamp, Metadata, Timestamp
from drawdown.webhooks.types import EVENT_TYPES, is_known_type

__all__ = [
    "AttemptOut",
    "EndpointCreate",
    "EndpointOut",
    "EndpointUpdate",
    "EndpointWithSecret",
    "RedeliverOut",
    "ReplayIn",
    "ReplayOut",
    "RotateSecretIn",
    "WebhookEventOut",
]

MAX_GRACE_S = 7 * 24 * 3600
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Description = Annotated[str, StringConstraints(max_length=500)]


def _known_types(names: list[str]) -> list[str]:
    unknown = [name for name in names if not is_known_type(name)]
    if unknown:
        raise ValueError(
            f"unknown event types {unknown}; known: '*' or any of {', '.join(EVENT_TYPES)}"
        )
    return list(dict.fromkeys(names))


EventTypes = Annotated[
    list[Annotated[str, StringConstraints(max_length=64)]],
    Field(min_length=1, max_length=len(EVENT_TYPES) + 1),
    AfterValidator(_known_types),
]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    event_types: EventTypes = Field(description="Types to receive; ['*'] for every type")
    description: Description = ""
    enabled: StrictBool = True
    metadata: Metadata = Field(default_factory=dict)


class EndpointUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: StrictBool | None = None
    metadata: Metadata | None = None


class RotateSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_period_seconds: int = Field(
        default=86_400,
        ge=0,
        le=MAX_GRACE_S,
        description="How long the old secret keeps signing too (two signatures are sent)",
    )


class EndpointOut(BaseModel):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    metadata: dict[str, Any]
    previous_secret_expires_at: Timestamp | None
    livemode: bool
    created_at: Timestamp
    updated_at: Timestamp


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="Shown only when created or rotated")


class WebhookEventOut(BaseModel):
    object: Literal["webhook_event"] = "webhook_event"
    id: str
    type: str
    timestamp: Timestamp
    data: dict[str, Any]
    livemode: bool


class AttemptOut(BaseModel):
    object: Literal["webhook_delivery"] = "webhook_delivery"
    id: str
    event_id: str
    event_type: str
    endpoint_id: str
    attempt: int
    succeeded: bool
    http_code: int | None
    error: str | None
    response: str | None = Field(description="First 2,048 characters of the response body")
    latency_us: int
    created_at: Timestamp


class RedeliverOut(BaseModel):
    object: Literal["webhook_redelivery"] = "webhook_redelivery"
    event_id: str
    scheduled: int = Field(description="Deliveries scheduled (one per endpoint)")


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareTimestamp
    until: AwareTimestamp | None = None
    only_failed: StrictBool = True


class ReplayOut(BaseModel):
    object: Literal["webhook_replay"] = "webhook_replay"
    endpoint_id: str
    scheduled: int
