"""Native objects in Payment Kit's shapes. Pure functions of native ``...Out`` models, so
the dialect depends on the native API contract, not on table columns.

Fields Payment Kit has and drawdown does not (payment methods, subscriptions, components,
on-chain tokens) render as the neutral value their TypeScript type allows (null for optional
fields, "" or false for required ones); ``docs/coming-from-paymentkit.md`` lists them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from drawdown.currencies.schemas import CurrencyOut
from drawdown.customers.schemas import CustomerOut
from drawdown.dialects.paymentkit.schemas import (
    Paging,
    PkCustomer,
    PkMeter,
    PkPage,
    PkPaymentCurrency,
    PkTransactionPage,
)
from drawdown.dialects.paymentkit.wire import iso_ms
from drawdown.meters.schemas import MeterOut
from drawdown.money import MAX_UNITS

__all__ = [
    "AGGREGATION_FROM_PK",
    "AGGREGATION_TO_PK",
    "customer",
    "meter",
    "page",
    "payment_currency",
    "plain_meter",
]

# Payment Kit's "last" is drawdown's "latest"; the others drawdown has keep their names.
AGGREGATION_TO_PK = {"latest": "last"}
AGGREGATION_FROM_PK = {"sum": "sum", "count": "count", "last": "latest"}


def payment_currency(cur: CurrencyOut) -> PkPaymentCurrency:
    created = iso_ms(cur.created_at)
    return PkPaymentCurrency(
        id=cur.id,
        payment_method_id="",
        active=True,
        livemode=cur.livemode,
        locked=False,
        is_base_currency=False,
        name=cur.name,
        description="",
        logo="",
        symbol=cur.symbol,
        decimal=cur.decimals,
        maximum_precision=cur.decimals,
        minimum_payment_amount="0",
        maximum_payment_amount=str(MAX_UNITS),
        contract=None,
        metadata={},
        created_at=created,
        # Currencies never change in drawdown (decimal places are fixed at creation).
        updated_at=created,
        vault_config=None,
        type="credit",
        recharge_config=None,
        token_config=None,
    )


def customer(cus: CustomerOut) -> PkCustomer:
    return PkCustomer(
        id=cus.id,
        livemode=cus.livemode,
        # Payment Kit customers are users identified by a DID; drawdown keeps the caller's
        # own id as external_id, which is where a DID sent as customer_id goes.
        did=cus.external_id or "",
        description="",
        name=cus.name or "",
        email=cus.email or "",
        phone="",
        address=None,
        delinquent=False,
        metadata=dict(cus.metadata),
        created_at=iso_ms(cus.created_at),
        updated_at=iso_ms(cus.updated_at),
    )


def meter(mtr: MeterOut, currency: CurrencyOut | None) -> PkMeter:
    func = mtr.aggregation.func
    return PkMeter(
        id=mtr.id,
        name=mtr.name,
        event_name=mtr.event_name,
        aggregation_method=AGGREGATION_TO_PK.get(func, func),
        status=mtr.status,
        unit=mtr.unit,
        description=mtr.description,
        component_did=None,
        livemode=mtr.livemode,
        metadata=dict(mtr.metadata),
        currency_id=mtr.currency_id,
        created_by=None,
        updated_by=None,
        created_via="api",
        created_at=iso_ms(mtr.created_at),
        updated_at=iso_ms(mtr.updated_at),
        paymentCurrency=None if currency is None else payment_currency(currency),
    )


def plain_meter(mtr: MeterOut) -> dict[str, Any]:
    """TMeter: a meter as nested in other objects (no paymentCurrency expansion)."""
    return meter(mtr, None).model_dump(exclude={"paymentCurrency"})


def page(items: Sequence[Any], count: int, page_number: int, page_size: int) -> PkPage:
    return PkPage(
        count=count,
        list=list(items),
        paging=Paging(
            page=page_number,
            pageSize=page_size,
            total=count,
            totalPages=math.ceil(count / page_size),
        ),
    )


def transaction_page(
    items: Sequence[Any], count: int, page_number: int, page_size: int
) -> PkTransactionPage:
    """A page of credit transactions, with the guide's ``total``/``data`` aliases."""
    base = page(items, count, page_number, page_size)
    return PkTransactionPage(
        count=base.count, list=base.list, paging=base.paging, total=count, data=base.list
    )
