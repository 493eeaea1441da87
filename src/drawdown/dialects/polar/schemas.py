"""Polar's wire shapes (request bodies and responses), as its official SDKs send and
expect them. Keys the SDKs require are always present; fields drawdown has no notion of
(billing address, tax id, locale, ...) are accepted on input and rendered as null."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
)

from drawdown.customers.schemas import Email, ExternalId, Name
from drawdown.schemas import Metadata, PlainUuid, Timestamp

__all__ = [
    "Aggregation",
    "CustomerCreate",
    "CustomerMeterOut",
    "CustomerOut",
    "CustomerStateMeter",
    "CustomerStateOut",
    "CustomerUpdate",
    "CustomerUpdateExternalID",
    "EventCreate",
    "EventCreateCustomer",
    "EventCreateExternalCustomer",
    "EventOut",
    "EventsIngest",
    "EventsIngestResponse",
    "Filter",
    "FilterClause",
    "MeterCreate",
    "MeterOut",
    "MeterQuantities",
    "MeterQuantity",
    "MeterUnit",
    "MeterUpdate",
]


def _empty_to_none(value: Any) -> Any:
    # Polar reads "" as "not given" for name and external_id.
    return None if value == "" else value


OptionalName = Annotated[Name | None, BeforeValidator(_empty_to_none)]
OptionalExternalId = Annotated[ExternalId | None, BeforeValidator(_empty_to_none)]


class _Input(BaseModel):
    # Polar ignores keys it does not know; so do we.
    model_config = ConfigDict(extra="ignore")


class _CustomerFields(_Input):
    email: Email | None = None
    name: OptionalName = None
    metadata: Metadata | None = None
    # Payment details: drawdown does not bill cards, so these are accepted and not stored.
    billing_address: dict[str, Any] | None = None
    tax_id: str | None = None
    locale: str | None = None


class _CustomerCreateFields(_CustomerFields):
    external_id: OptionalExternalId = None
    organization_id: str | None = None
    owner: dict[str, Any] | None = None


class CustomerIndividualCreate(_CustomerCreateFields):
    email: Email
    type: Literal["individual"] = "individual"


class CustomerTeamCreate(_CustomerCreateFields):
    type: Literal["team"]


def _customer_type(value: Any) -> str:
    # Polar's discriminator: "type", "individual" when absent.
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "team" if kind == "team" else "individual"


CustomerCreate = Annotated[
    Annotated[CustomerIndividualCreate, Tag("individual")]
    | Annotated[CustomerTeamCreate, Tag("team")],
    Discriminator(_customer_type),
]


class CustomerUpdate(_CustomerFields):
    external_id: OptionalExternalId = None
    type: Literal["individual", "team"] | None = None


class CustomerUpdateExternalID(_CustomerFields):
    pass


class CustomerOut(BaseModel):
    id: PlainUuid
    created_at: Timestamp
    modified_at: Timestamp | None
    metadata: dict[str, str | int | float | bool]
    external_id: str | None
    email: str | None
    email_verified: bool = False
    type: Literal["individual", "team"]
    name: str | None
    billing_name: str | None
    billing_address: dict[str, Any] | None = None
    tax_id: list[str | None] | None = None
    locale: str | None = None
    organization_id: PlainUuid
    default_payment_method_id: str | None = None
    deleted_at: Timestamp | None = None
    # Not tracked by drawdown (it would cost a scan of the customer's events per read).
    first_user_event_at: Timestamp | None = None
    avatar_url: str = ""


# ---- meters -----------------------------------------------------------------------------

FilterOperator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "like", "not_like"]
MeterUnit = Literal["scalar", "token", "custom"]
# Polar's filter values: a string, a 32-bit integer or a boolean (no floats).
FilterValue = (
    Annotated[StrictStr, Field(max_length=1000)]
    | Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
    | StrictBool
)


class FilterClause(BaseModel):
    property: str
    operator: FilterOperator
    value: FilterValue


class Filter(BaseModel):
    conjunction: Literal["and", "or"]
    clauses: list[FilterClause | Filter]


class CountAggregation(BaseModel):
    func: Literal["count"] = "count"


class PropertyAggregation(BaseModel):
    func: Literal["sum", "max", "min", "avg"]
    property: str


class UniqueAggregation(BaseModel):
    func: Literal["unique"] = "unique"
    property: str


class _OtherAggregation(BaseModel):
    # drawdown's "latest", shown for meters made through the native API.
    func: Literal["latest"]
    property: str


Aggregation = Annotated[
    CountAggregation | PropertyAggregation | UniqueAggregation,
    Field(discriminator="func"),
]
AggregationOut = CountAggregation | PropertyAggregation | UniqueAggregation | _OtherAggregation


class MeterCreate(_Input):
    name: Annotated[str, Field(min_length=3)]
    filter: Filter
    aggregation: Aggregation
    unit: MeterUnit = "scalar"
    custom_label: str | None = None
    custom_multiplier: Annotated[int, Field(gt=0)] | None = None
    metadata: Metadata | None = None
    organization_id: str | None = None


class MeterUpdate(_Input):
    name: Annotated[str, Field(min_length=3)] | None = None
    unit: MeterUnit | None = None
    custom_label: str | None = None
    custom_multiplier: Annotated[int, Field(gt=0)] | None = None
    filter: Filter | None = None
    aggregation: Aggregation | None = None
    metadata: Metadata | None = None
    is_archived: StrictBool | None = None


class MeterOut(BaseModel):
    metadata: dict[str, str | int | float | bool]
    created_at: Timestamp
    modified_at: Timestamp | None
    id: str
    name: str
    unit: MeterUnit
    custom_label: str | None
    custom_multiplier: int | None = None
    filter: Filter
    aggregation: AggregationOut
    organization_id: str
    archived_at: Timestamp | None


class MeterQuantity(BaseModel):
    timestamp: Timestamp
    quantity: float


class MeterQuantities(BaseModel):
    quantities: list[MeterQuantity]
    total: float


# ---- events -----------------------------------------------------------------------------

EventName = Annotated[str, Field(min_length=1, max_length=128)]


class _EventCreate(_Input):
    name: EventName
    timestamp: AwareDatetime | None = None
    organization_id: str | None = None
    external_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    parent_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class EventCreateCustomer(_EventCreate):
    customer_id: str
    member_id: str | None = None


class EventCreateExternalCustomer(_EventCreate):
    external_customer_id: Annotated[str, Field(min_length=1, max_length=255)]
    external_member_id: str | None = None


# Not discriminated, as in Polar: an invalid event is reported against both members.
EventCreate = EventCreateCustomer | EventCreateExternalCustomer


class EventsIngest(_Input):
    events: list[EventCreate]


class EventsIngestResponse(BaseModel):
    inserted: int
    duplicates: int = 0


class EventOut(BaseModel):
    id: str
    timestamp: Timestamp
    organization_id: str
    customer_id: str | None
    customer: CustomerOut | None
    external_customer_id: str | None
    member_id: str | None = None
    external_member_id: str | None = None
    child_count: int = 0
    parent_id: str | None = None
    label: str
    name: str
    source: Literal["user"] = "user"
    metadata: dict[str, Any]


# ---- customer meters --------------------------------------------------------------------


class CustomerMeterOut(BaseModel):
    id: str
    created_at: Timestamp
    modified_at: Timestamp | None
    customer_id: str
    meter_id: str
    consumed_units: float
    credited_units: int
    balance: float
    customer: CustomerOut
    meter: MeterOut


class CustomerStateMeter(BaseModel):
    id: str
    created_at: Timestamp
    modified_at: Timestamp | None
    meter_id: str
    consumed_units: float
    credited_units: int
    balance: float


class CustomerStateOut(CustomerOut):
    """Polar's customer state: drawdown has no subscriptions or benefits, so those lists
    are empty; ``active_meters`` has the customer's meters (see customer_meters)."""

    active_subscriptions: list[dict[str, Any]] = Field(default_factory=list)
    granted_benefits: list[dict[str, Any]] = Field(default_factory=list)
    active_meters: list[CustomerStateMeter]
