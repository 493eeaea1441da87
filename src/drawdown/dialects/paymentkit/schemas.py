"""Payment Kit's request and response shapes (@blocklet/payment-types 1.27.2 and
@blocklet/payment-js 1.27.2). Field names are Payment Kit's, including its camelCase
expansions (``paymentCurrency``, ``creditGrant``). Amounts in responses are integer
base-unit strings; request amounts are human ("token") units."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from drawdown.dialects.paymentkit.wire import MAX_UNIX_S
from drawdown.schemas import Metadata

__all__ = [
    "AnyJson",
    "CreditGrantCreate",
    "CreditGrantUpdate",
    "MeterCreate",
    "MeterEventCreate",
    "MeterEventPayload",
    "MeterUpdate",
    "Paging",
    "PkCreditGrant",
    "PkCreditTransaction",
    "PkCustomer",
    "PkMeter",
    "PkMeterEvent",
    "PkPage",
    "PkPaymentCurrency",
    "PkTransactionPage",
    "Success",
    "UnixSeconds",
]

AnyJson = Any
UnixSeconds = Annotated[int, Field(ge=0, le=MAX_UNIX_S, description="Unix seconds")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Record times as JavaScript serializes a Date (``2025-08-07T10:00:00.000Z``, wire.iso_ms).
IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
# Amounts arrive as decimal strings in human units; numbers are tolerated (read exactly).
HumanAmount = Annotated[str | int | float, Field(description="Human units, e.g. '10.5'")]


# ---- requests -------------------------------------------------------------------------


class _Request(BaseModel):
    # Payment Kit's Joi schemas reject unknown keys; so do we, naming the key.
    model_config = ConfigDict(extra="forbid")


class MeterCreate(_Request):
    name: Name
    event_name: Name
    aggregation_method: Literal["sum", "count", "last"] = "sum"
    unit: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    currency_id: str | None = None
    decimal: Annotated[int, Field(ge=0, le=18)] | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    metadata: Metadata | None = None


class MeterUpdate(_Request):
    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    status: Literal["active", "inactive"] | None = None
    metadata: Metadata | None = None
    unit: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class MeterEventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    value: HumanAmount
    subscription_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class MeterEventCreate(_Request):
    event_name: Name
    payload: MeterEventPayload
    identifier: Name
    timestamp: UnixSeconds | None = None
    metadata: dict[str, AnyJson] | None = None
    source_data: dict[str, str] | list[dict[str, AnyJson]] | None = None


class CreditGrantCreate(_Request):
    amount: HumanAmount
    currency_id: str
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    name: Annotated[str, StringConstraints(max_length=255)] | None = None
    category: Literal["paid", "promotional"]
    priority: Annotated[int, Field(ge=0, le=100)] | None = None
    effective_at: UnixSeconds | None = None
    expires_at: UnixSeconds | None = None
    applicability_config: dict[str, AnyJson] | None = None
    metadata: Metadata | None = None


class CreditGrantUpdate(_Request):
    metadata: Metadata | None = None
    expired: bool | None = None


# ---- responses ------------------------------------------------------------------------


class PkPaymentCurrency(BaseModel):
    id: str
    payment_method_id: str
    active: bool
    livemode: bool
    locked: bool
    is_base_currency: bool
    name: str
    description: str
    logo: str
    symbol: str
    decimal: int
    maximum_precision: int
    minimum_payment_amount: str
    maximum_payment_amount: str
    contract: str | None
    metadata: dict[str, AnyJson]
    created_at: IsoTime
    updated_at: IsoTime
    vault_config: dict[str, AnyJson] | None
    type: str
    recharge_config: dict[str, AnyJson] | None
    token_config: dict[str, AnyJson] | None


class PkCustomer(BaseModel):
    id: str
    livemode: bool
    did: str
    description: str
    name: str
    email: str
    phone: str
    address: dict[str, AnyJson] | None
    delinquent: bool
    metadata: dict[str, AnyJson]
    created_at: IsoTime
    updated_at: IsoTime


class PkMeter(BaseModel):
    id: str
    object: str = "meter"
    name: str
    event_name: str
    aggregation_method: str
    status: str
    unit: str
    description: str | None
    component_did: str | None
    livemode: bool
    metadata: dict[str, AnyJson]
    currency_id: str
    created_by: str | None
    updated_by: str | None
    created_via: str
    created_at: IsoTime
    updated_at: IsoTime
    paymentCurrency: PkPaymentCurrency | None = None


class PkMeterEvent(BaseModel):
    id: str
    object: str = "meter_event"
    event_name: str
    payload: dict[str, AnyJson]
    identifier: str
    timestamp: int
    livemode: bool
    status: str
    processed_at: int | None
    attempt_count: int
    next_attempt: int | None
    credit_consumed: str
    credit_pending: str
    metadata: dict[str, AnyJson] | None
    source_data: dict[str, AnyJson] | list[AnyJson] | None
    created_by: str | None
    created_via: str
    created_at: IsoTime
    updated_at: IsoTime
    customer: PkCustomer | None
    subscription: None = None
    # TMeter: the meter without its paymentCurrency expansion
    meter: dict[str, AnyJson]
    paymentCurrency: PkPaymentCurrency


class PkCreditGrant(BaseModel):
    id: str
    object: str = "credit_grant"
    amount: str
    remaining_amount: str
    currency_id: str
    customer_id: str
    name: str | None
    category: str
    priority: int
    status: str
    effective_at: int | None
    expires_at: int | None
    voided_at: int | None
    applicability_config: dict[str, AnyJson] | None
    livemode: bool
    metadata: dict[str, AnyJson]
    test_clock: str | None = None
    chain_status: str | None = None
    chain_detail: dict[str, AnyJson] | None = None
    created_by: str | None = None
    updated_by: str | None = None
    created_via: str = "api"
    created_at: IsoTime
    updated_at: IsoTime
    customer: PkCustomer
    paymentCurrency: PkPaymentCurrency
    # drawdown has no payment methods: always null.
    paymentMethod: None = None


class PkCreditTransaction(BaseModel):
    id: str
    object: str = "credit_transaction"
    # What kind of ledger movement this row is (Payment Kit's SDK interface names the
    # field ``type``); Payment Kit itself only records consumptions.
    type: str
    quantity: str
    credit_amount: str
    remaining_balance: str
    customer_id: str
    credit_grant_id: str | None
    meter_id: str | None
    subscription_id: str | None = None
    source: str | None
    meter_event_name: str
    meter_unit: str
    description: str | None
    metadata: dict[str, AnyJson]
    transfer_status: str | None = None
    transfer_hash: str | None = None
    created_at: IsoTime
    updated_at: IsoTime
    customer: PkCustomer
    paymentCurrency: PkPaymentCurrency
    creditGrant: dict[str, AnyJson] | None
    meter: dict[str, AnyJson] | None
    subscription: None = None


class Paging(BaseModel):
    page: int
    pageSize: int
    total: int
    totalPages: int


class PkPage(BaseModel):
    """Payment Kit's ``Paginated<T>`` (``count``, ``list``) plus ``paging``."""

    count: int
    list: list[Any]
    paging: Paging


class PkTransactionPage(PkPage):
    """The credit transaction list: Payment Kit's page plus the names its credit-based
    billing guide reads (``transactions.total``, ``transactions.data``), the same values."""

    total: int
    data: list[Any]


class Success(BaseModel):
    success: bool
