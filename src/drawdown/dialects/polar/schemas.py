"""Polar's wire shapes (request bodies and responses), as its official SDKs send and
expect them. Keys the SDKs require are always present; fields drawdown has no notion of
(billing address, tax id, locale, ...) are accepted on input and rendered as null."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Tag

from drawdown.customers.schemas import Email, ExternalId, Name
from drawdown.schemas import Metadata, Timestamp

__all__ = [
    "CustomerCreate",
    "CustomerOut",
    "CustomerUpdate",
    "CustomerUpdateExternalID",
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
    id: str
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
    organization_id: str
    default_payment_method_id: str | None = None
    deleted_at: Timestamp | None = None
    avatar_url: str | None = None
