"""Every API call, described once. The sync and async resources send these descriptions;
so each call's parameters, defaults and docs live here, in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal
from urllib.parse import quote

from drawdown.sdk._http import Call, new_idempotency_key, query, rfc3339
from drawdown.sdk._http import amount as exact
from drawdown.sdk.models import (
    Access,
    Balance,
    BalanceList,
    CreditGrant,
    CreditTransaction,
    Currency,
    Customer,
    Event,
    Hold,
    IngestResult,
    Meter,
    MeterAggregation,
    MeterUsage,
    Page,
)

__all__ = ["OMIT", "Omit"]


class Omit:
    """Marks a PATCH field as "leave unchanged" (None would clear it)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = Omit()
Time = datetime | str
Metadata = Mapping[str, str | int | float | bool]


def _seg(value: str) -> str:
    """One path segment; external ids may contain '/', '?', spaces..."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def _time(value: Time | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return rfc3339(value)


def _body(**fields: Any) -> dict[str, Any]:
    """A JSON body from keyword fields: None (create) or OMIT (update) left out."""
    return {k: v for k, v in fields.items() if v is not None and not isinstance(v, Omit)}


def _create(path: str, parse: Any, body: Any, key: str | None) -> Call[Any]:
    return Call("POST", path, parse, body=body, idempotency_key=key or new_idempotency_key())


def _page(model: type[Any]) -> Any:
    return Page[model].model_validate  # type: ignore[valid-type]


def _nothing(_: Any) -> None:
    return None


def _customer_path(customer_id: str | None, external_customer_id: str | None) -> str:
    if (customer_id is None) == (external_customer_id is None):
        raise ValueError("pass exactly one of customer_id and external_customer_id")
    if customer_id is not None:
        return f"/v1/customers/{_seg(customer_id)}"
    return f"/v1/customers/external/{_seg(external_customer_id or '')}"


# Customers


def customers_create(
    *,
    external_id: str | None = None,
    email: str | None = None,
    name: str | None = None,
    metadata: Metadata | None = None,
    idempotency_key: str | None = None,
) -> Call[Customer]:
    """Create a customer. ``external_id`` is your own id for it (unique per mode).

    A retried call reuses one Idempotency-Key (pass your own to make a retry safe across
    processes too), so it never creates two customers."""
    body = _body(external_id=external_id, email=email, name=name, metadata=metadata)
    return _create("/v1/customers", Customer.model_validate, body, idempotency_key)


def customers_get(customer_id: str) -> Call[Customer]:
    """Fetch a customer by its id (``cus_...``)."""
    return Call("GET", f"/v1/customers/{_seg(customer_id)}", Customer.model_validate)


def customers_get_by_external_id(external_id: str) -> Call[Customer]:
    """Fetch a customer by your own id for it."""
    return Call("GET", f"/v1/customers/external/{_seg(external_id)}", Customer.model_validate)


def _customer_update(
    path: str,
    external_id: str | Omit | None,
    email: str | Omit | None,
    name: str | Omit | None,
    metadata: Metadata | Omit | None,
) -> Call[Customer]:
    body = {
        k: v
        for k, v in {
            "external_id": external_id,
            "email": email,
            "name": name,
            "metadata": metadata,
        }.items()
        if not isinstance(v, Omit)
    }
    return Call("PATCH", path, Customer.model_validate, body=body)


def customers_update(
    customer_id: str,
    *,
    external_id: str | Omit | None = OMIT,
    email: str | Omit | None = OMIT,
    name: str | Omit | None = OMIT,
    metadata: Metadata | Omit | None = OMIT,
) -> Call[Customer]:
    """Change the fields given (None clears one). external_id can be set once."""
    path = f"/v1/customers/{_seg(customer_id)}"
    return _customer_update(path, external_id, email, name, metadata)


def customers_update_by_external_id(
    external_id: str,
    *,
    email: str | Omit | None = OMIT,
    name: str | Omit | None = OMIT,
    metadata: Metadata | Omit | None = OMIT,
) -> Call[Customer]:
    """Change the fields given of the customer with this external id."""
    path = f"/v1/customers/external/{_seg(external_id)}"
    return _customer_update(path, OMIT, email, name, metadata)


def customers_delete(customer_id: str) -> Call[None]:
    """Delete a customer (its external_id becomes free again)."""
    return Call("DELETE", f"/v1/customers/{_seg(customer_id)}", _nothing)


def customers_delete_by_external_id(external_id: str) -> Call[None]:
    """Delete the customer with this external id."""
    return Call("DELETE", f"/v1/customers/external/{_seg(external_id)}", _nothing)


def customers_list(
    *,
    email: str | None = None,
    external_id: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[Customer]]:
    """One page of customers, newest first. ``q`` searches name, email and external_id."""
    params = query(
        email=email, external_id=external_id, q=q, limit=limit, starting_after=starting_after
    )
    return Call("GET", "/v1/customers", _page(Customer), params=params)


# Currencies


def currencies_create(
    *, name: str, symbol: str, decimals: int, idempotency_key: str | None = None
) -> Call[Currency]:
    """Create a currency credits are counted in, with ``decimals`` places."""
    body = _body(name=name, symbol=symbol, decimals=decimals)
    return _create("/v1/currencies", Currency.model_validate, body, idempotency_key)


def currencies_get(currency_id: str) -> Call[Currency]:
    """Fetch a currency by id (``cur_...``)."""
    return Call("GET", f"/v1/currencies/{_seg(currency_id)}", Currency.model_validate)


def currencies_list(
    *, limit: int | None = None, starting_after: str | None = None
) -> Call[Page[Currency]]:
    """One page of currencies, newest first."""
    params = query(limit=limit, starting_after=starting_after)
    return Call("GET", "/v1/currencies", _page(Currency), params=params)


# Meters


def meters_create(
    *,
    name: str,
    event_name: str,
    aggregation: Mapping[str, Any] | MeterAggregation,
    filter: Any = None,
    unit: str | None = None,
    description: str | None = None,
    metadata: Metadata | None = None,
    currency_id: str | None = None,
    rate: Decimal | str | int | None = None,
    idempotency_key: str | None = None,
) -> Call[Meter]:
    """Create a meter over events named ``event_name``.

    ``aggregation`` is ``{"func": "sum", "property": "tokens"}`` (func: sum, count, max,
    min, avg, unique or latest; every func but count needs a property path);
    ``rate`` is credits per unit (default 1) in ``currency_id`` (created for the meter when
    not given)."""
    agg = aggregation.model_dump() if isinstance(aggregation, MeterAggregation) else aggregation
    body = _body(
        name=name,
        event_name=event_name,
        aggregation=dict(agg),
        filter=filter,
        unit=unit,
        description=description,
        metadata=metadata,
        currency_id=currency_id,
        rate=None if rate is None else exact(rate, "rate"),
    )
    return _create("/v1/meters", Meter.model_validate, body, idempotency_key)


def meters_get(meter: str) -> Call[Meter]:
    """Fetch a meter by id (``mtr_...``) or by its event_name."""
    return Call("GET", f"/v1/meters/{_seg(meter)}", Meter.model_validate)


def meters_update(
    meter_id: str,
    *,
    name: str | Omit = OMIT,
    description: str | Omit | None = OMIT,
    unit: str | Omit | None = OMIT,
    metadata: Metadata | Omit | None = OMIT,
    filter: Any = OMIT,
    aggregation: Mapping[str, Any] | MeterAggregation | Omit = OMIT,
    rate: Decimal | str | int | Omit = OMIT,
) -> Call[Meter]:
    """Change the fields given of a meter. ``filter`` and ``aggregation`` can change only
    while no event of the meter's event_name is stored."""
    if isinstance(aggregation, MeterAggregation):
        aggregation = aggregation.model_dump()
    fields = {
        "name": name,
        "description": description,
        "unit": unit,
        "metadata": metadata,
        "filter": filter,
        "aggregation": aggregation,
        "rate": rate if isinstance(rate, Omit) else exact(rate, "rate"),
    }
    body = {k: v for k, v in fields.items() if not isinstance(v, Omit)}
    return Call("PATCH", f"/v1/meters/{_seg(meter_id)}", Meter.model_validate, body=body)


def meters_list(
    *,
    event_name: str | None = None,
    status: Literal["active", "inactive"] | None = None,
    q: str | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[Meter]]:
    """One page of meters, newest first."""
    params = query(
        event_name=event_name, status=status, q=q, limit=limit, starting_after=starting_after
    )
    return Call("GET", "/v1/meters", _page(Meter), params=params)


def meters_activate(meter_id: str) -> Call[Meter]:
    """Activate a meter: events for it are accepted again."""
    path = f"/v1/meters/{_seg(meter_id)}/activate"
    return Call("POST", path, Meter.model_validate, idempotency_key=new_idempotency_key())


def meters_deactivate(meter_id: str) -> Call[Meter]:
    """Deactivate a meter: new events naming it are refused; its history stays."""
    path = f"/v1/meters/{_seg(meter_id)}/deactivate"
    return Call("POST", path, Meter.model_validate, idempotency_key=new_idempotency_key())


def meters_usage(
    meter: str,
    *,
    from_: Time,
    to: Time,
    window: Literal["minute", "hour", "day", "week", "month", "none"] | None = None,
    timezone: str | None = None,
    customer_id: str | None = None,
    group_by: str | None = None,
) -> Call[MeterUsage]:
    """A meter's (id or event_name) aggregated usage in ``[from_, to)``: one bucket per
    window (default day; ``"none"``: one bucket), and the total.

    ``group_by`` is ``"customer"`` or a property path; ``timezone`` (IANA, default UTC) sets
    where days and months start."""
    params = query(
        from_=_time(from_),
        to=_time(to),
        window=window,
        timezone=timezone,
        customer_id=customer_id,
        group_by=group_by,
    )
    path = f"/v1/meters/{_seg(meter)}/usage"
    return Call("GET", path, MeterUsage.model_validate, params=params)


# Events


def events_ingest(events: Sequence[Mapping[str, Any]]) -> Call[IngestResult]:
    """Send one batch of events (at most the server's batch limit, 1000 by default).

    Each event: ``identifier`` (your idempotency key for it), ``name``, ``customer_id`` or
    ``external_customer_id``, optional ``timestamp`` and ``properties``. The batch is
    atomic: one invalid event rejects it all (a 422 naming each bad index). Sending an
    event again is safe: it counts as a duplicate and changes nothing."""
    body = {"events": [_event(e) for e in events]}
    return Call("POST", "/v1/events/ingest", IngestResult.model_validate, body=body)


def _event(event: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(event)
    if isinstance(out.get("timestamp"), datetime):
        out["timestamp"] = rfc3339(out["timestamp"])
    return out


def events_get(event_id: str) -> Call[Event]:
    """Fetch an event by id (``evt_...``)."""
    return Call("GET", f"/v1/events/{_seg(event_id)}", Event.model_validate)


def events_list(
    *,
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    name: str | None = None,
    meter_id: str | None = None,
    from_: Time | None = None,
    to: Time | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[Event]]:
    """One page of events, newest first, filtered by customer, name, meter or time."""
    params = query(
        customer_id=customer_id,
        external_customer_id=external_customer_id,
        name=name,
        meter_id=meter_id,
        from_=_time(from_),
        to=_time(to),
        limit=limit,
        starting_after=starting_after,
    )
    return Call("GET", "/v1/events", _page(Event), params=params)


# Credit grants


def credit_grants_create(
    *,
    amount: Decimal | str | int,
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    currency_id: str | None = None,
    meter_id: str | None = None,
    category: Literal["paid", "promotional"] | None = None,
    priority: int | None = None,
    effective_at: Time | None = None,
    expires_at: Time | None = None,
    name: str | None = None,
    metadata: Metadata | None = None,
    idempotency_key: str | None = None,
) -> Call[CreditGrant]:
    """Grant a customer credits (``amount`` in human units, e.g. ``"10.00"``) in a currency
    (or the currency of ``meter_id``). Lower ``priority`` is drawn first (default 50)."""
    body = _body(
        amount=exact(amount),
        customer_id=customer_id,
        external_customer_id=external_customer_id,
        currency_id=currency_id,
        meter_id=meter_id,
        category=category,
        priority=priority,
        effective_at=_time(effective_at),
        expires_at=_time(expires_at),
        name=name,
        metadata=metadata,
    )
    return _create("/v1/credit-grants", CreditGrant.model_validate, body, idempotency_key)


def credit_grants_get(grant_id: str) -> Call[CreditGrant]:
    """Fetch a credit grant by id (``cgr_...``)."""
    return Call("GET", f"/v1/credit-grants/{_seg(grant_id)}", CreditGrant.model_validate)


def credit_grants_list(
    *,
    customer_id: str | None = None,
    currency_id: str | None = None,
    status: Literal["pending", "active", "depleted", "expired", "voided"] | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[CreditGrant]]:
    """One page of credit grants, newest first."""
    params = query(
        customer_id=customer_id,
        currency_id=currency_id,
        status=status,
        limit=limit,
        starting_after=starting_after,
    )
    return Call("GET", "/v1/credit-grants", _page(CreditGrant), params=params)


def credit_grants_void(grant_id: str, *, idempotency_key: str | None = None) -> Call[CreditGrant]:
    """Void a grant: what remains of it leaves the balance with a ``void`` ledger entry."""
    path = f"/v1/credit-grants/{_seg(grant_id)}/void"
    return _create(path, CreditGrant.model_validate, None, idempotency_key)


def credit_grants_expire(grant_id: str, *, idempotency_key: str | None = None) -> Call[CreditGrant]:
    """Expire a grant now, before its expires_at."""
    path = f"/v1/credit-grants/{_seg(grant_id)}/expire"
    return _create(path, CreditGrant.model_validate, None, idempotency_key)


# Ledger


def credit_transactions_list(
    *,
    customer_id: str | None = None,
    currency_id: str | None = None,
    grant_id: str | None = None,
    event_id: str | None = None,
    type: str | None = None,
    from_: Time | None = None,
    to: Time | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[CreditTransaction]]:
    """One page of ledger entries, newest first. ``type``: grant, consumption, debt,
    settlement, debt_settled, expiration or void."""
    params = query(
        customer_id=customer_id,
        currency_id=currency_id,
        grant_id=grant_id,
        event_id=event_id,
        type=type,
        from_=_time(from_),
        to=_time(to),
        limit=limit,
        starting_after=starting_after,
    )
    return Call("GET", "/v1/credit-transactions", _page(CreditTransaction), params=params)


def credit_transactions_get(transaction_id: str) -> Call[CreditTransaction]:
    """Fetch one ledger entry by id (``txn_...``)."""
    path = f"/v1/credit-transactions/{_seg(transaction_id)}"
    return Call("GET", path, CreditTransaction.model_validate)


# Balances and access


def balances_list(
    *, customer_id: str | None = None, external_customer_id: str | None = None
) -> Call[list[Balance]]:
    """A customer's balance in every currency it has credits or debt in."""
    path = _customer_path(customer_id, external_customer_id) + "/balances"
    return Call("GET", path, lambda raw: BalanceList.model_validate(raw).data)


def access_check(
    meter: str, *, customer_id: str | None = None, external_customer_id: str | None = None
) -> Call[Access]:
    """May the customer use ``meter`` (id or event_name) now? ``has_access`` answers."""
    path = _customer_path(customer_id, external_customer_id) + "/access"
    return Call("GET", path, Access.model_validate, params={"meter": meter})


# Holds


def holds_create(
    *,
    amount: Decimal | str | int,
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    meter_id: str | None = None,
    currency_id: str | None = None,
    min_amount: Decimal | str | int | None = None,
    timeout_s: int | None = None,
    metadata: Metadata | None = None,
    idempotency_key: str | None = None,
) -> Call[Hold]:
    """Reserve up to ``amount`` of the customer's available credits in a currency (or the
    currency of ``meter_id``, an id or event_name) for ``timeout_s`` seconds (default 300,
    at most 86400). When less is available the hold is partial down to ``min_amount``
    (default: amount); below that it raises :class:`~drawdown.InsufficientCreditsError`."""
    body = _body(
        amount=exact(amount),
        customer_id=customer_id,
        external_customer_id=external_customer_id,
        meter_id=meter_id,
        currency_id=currency_id,
        min_amount=None if min_amount is None else exact(min_amount, "min_amount"),
        timeout_s=timeout_s,
        metadata=metadata,
    )
    return _create("/v1/holds", Hold.model_validate, body, idempotency_key)


def holds_get(hold_id: str) -> Call[Hold]:
    """Fetch a hold by id (``hld_...``); a hold past its expires_at reads as expired."""
    return Call("GET", f"/v1/holds/{_seg(hold_id)}", Hold.model_validate)


def holds_capture(
    hold_id: str,
    amount: Decimal | str | int | None = None,
    *,
    event: Mapping[str, Any],
    allow_overage: bool | None = None,
    idempotency_key: str | None = None,
) -> Call[Hold]:
    """Capture: ingest ``event`` (``identifier``, ``name``, ``properties``, optional
    ``timestamp``; the customer is the hold's) and draw what it costs, releasing the rest,
    in one transaction. ``amount``, when given, must be what the event costs; above the
    amount held it needs ``allow_overage=True``. Retried calls reuse one Idempotency-Key,
    so a capture whose response was lost is booked once."""
    body = _body(
        amount=None if amount is None else exact(amount),
        event=_event(event),
        allow_overage=allow_overage,
    )
    path = f"/v1/holds/{_seg(hold_id)}/capture"
    return _create(path, Hold.model_validate, body, idempotency_key)


def holds_release(
    hold_id: str, *, reason: str | None = None, idempotency_key: str | None = None
) -> Call[Hold]:
    """Give the whole reservation back."""
    path = f"/v1/holds/{_seg(hold_id)}/release"
    return _create(path, Hold.model_validate, _body(reason=reason), idempotency_key)


def holds_list(
    *,
    customer_id: str | None = None,
    status: Literal["active", "captured", "released", "expired"] | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[Hold]]:
    """One page of holds (a customer's, with ``customer_id``), newest first."""
    params = query(
        customer_id=customer_id, status=status, limit=limit, starting_after=starting_after
    )
    return Call("GET", "/v1/holds", _page(Hold), params=params)
