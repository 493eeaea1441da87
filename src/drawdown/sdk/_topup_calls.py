"""Calls of the top-ups API, described once (see ``_calls``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypedDict

from drawdown.sdk._calls import (
    OMIT,
    Metadata,
    Omit,
    _body,
    _create,
    _customer_path,
    _nothing,
    _page,
    _seg,
    _time,
)
from drawdown.sdk._http import Call, query
from drawdown.sdk._http import amount as exact
from drawdown.sdk.models import Page
from drawdown.sdk.topup_models import Topup, TopupRule

__all__ = ["GrantTemplate", "Limits"]

Amount = Decimal | str | int
_R = "/v1/topup-rules"


class GrantTemplate(TypedDict, total=False):
    """The grant a top-up makes: ``expires_after`` is an ISO 8601 duration (``P30D``)."""

    category: Literal["paid", "promotional"]
    priority: int
    expires_after: str | None
    name: str
    metadata: Mapping[str, str | int | float | bool]


class Limits(TypedDict, total=False):
    max_per_day: int | None
    max_amount_per_day: Amount | None
    cooldown_s: int
    decline_backoff_s: int


def _limits(limits: Limits | None) -> dict[str, Any] | None:
    if limits is None:
        return None
    out: dict[str, Any] = dict(limits)
    if out.get("max_amount_per_day") is not None:
        out["max_amount_per_day"] = exact(out["max_amount_per_day"], "max_amount_per_day")
    return out


def _money(value: Amount | Omit | None, name: str) -> Any:
    return value if value is None or isinstance(value, Omit) else exact(value, name)


def rules_create(
    *,
    trigger: Literal["threshold", "schedule"],
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    currency_id: str | None = None,
    meter_id: str | None = None,
    threshold: Amount | None = None,
    interval: str | None = None,
    anchor_at: datetime | str | None = None,
    method: Literal["fixed", "target"] | None = None,
    amount: Amount | None = None,
    target_balance: Amount | None = None,
    settlement: Literal["auto", "external"] | None = None,
    grant_template: GrantTemplate | None = None,
    limits: Limits | None = None,
    pending_ttl_s: int | None = None,
    name: str | None = None,
    enabled: bool | None = None,
    idempotency_key: str | None = None,
) -> Call[TopupRule]:
    """A rule for one customer, or with no customer an organization-wide default
    (threshold rules only) for every customer of the currency."""
    body = _body(
        currency_id=currency_id,
        meter_id=meter_id,
        name=name,
        enabled=enabled,
        trigger=trigger,
        threshold=_money(threshold, "threshold"),
        interval=interval,
        anchor_at=_time(anchor_at),
        method=method,
        amount=_money(amount, "amount"),
        target_balance=_money(target_balance, "target_balance"),
        settlement=settlement,
        grant_template=None if grant_template is None else dict(grant_template),
        limits=_limits(limits),
        pending_ttl_s=pending_ttl_s,
    )
    if customer_id is None and external_customer_id is None:
        path = _R
    else:
        path = _customer_path(customer_id, external_customer_id) + "/topup-rules"
    return _create(path, TopupRule.model_validate, body, idempotency_key)


def rules_get(rule_id: str) -> Call[TopupRule]:
    return Call("GET", f"{_R}/{_seg(rule_id)}", TopupRule.model_validate)


def rules_list(
    *,
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    defaults_only: bool | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[TopupRule]]:
    """A customer's rules and the defaults, or every rule of the organization."""
    params = query(limit=limit, starting_after=starting_after, defaults_only=defaults_only)
    if customer_id is None and external_customer_id is None:
        return Call("GET", _R, _page(TopupRule), params=params)
    path = _customer_path(customer_id, external_customer_id) + "/topup-rules"
    return Call("GET", path, _page(TopupRule), params=params)


def rules_update(
    rule_id: str,
    *,
    name: str | Omit = OMIT,
    enabled: bool | Omit = OMIT,
    threshold: Amount | Omit = OMIT,
    method: Literal["fixed", "target"] | Omit = OMIT,
    amount: Amount | Omit = OMIT,
    target_balance: Amount | Omit = OMIT,
    settlement: Literal["auto", "external"] | Omit = OMIT,
    grant_template: GrantTemplate | Omit = OMIT,
    limits: Limits | Omit = OMIT,
    pending_ttl_s: int | Omit = OMIT,
) -> Call[TopupRule]:
    """Change the fields given; the rule is checked again as a whole."""
    body = _body(
        name=name,
        enabled=enabled,
        threshold=_money(threshold, "threshold"),
        method=method,
        amount=_money(amount, "amount"),
        target_balance=_money(target_balance, "target_balance"),
        settlement=settlement,
        grant_template=grant_template if isinstance(grant_template, Omit) else dict(grant_template),
        limits=limits if isinstance(limits, Omit) else _limits(limits),
        pending_ttl_s=pending_ttl_s,
    )
    return Call("PATCH", f"{_R}/{_seg(rule_id)}", TopupRule.model_validate, body=body)


def rules_delete(rule_id: str) -> Call[None]:
    return Call("DELETE", f"{_R}/{_seg(rule_id)}", _nothing)


def rules_enable(rule_id: str) -> Call[TopupRule]:
    return Call("POST", f"{_R}/{_seg(rule_id)}/enable", TopupRule.model_validate)


def rules_disable(rule_id: str) -> Call[TopupRule]:
    return Call("POST", f"{_R}/{_seg(rule_id)}/disable", TopupRule.model_validate)


def topups_create(
    *,
    amount: Amount,
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    currency_id: str | None = None,
    meter_id: str | None = None,
    settlement: Literal["auto", "external"] | None = None,
    grant_template: GrantTemplate | None = None,
    metadata: Metadata | None = None,
    idempotency_key: str | None = None,
) -> Call[Topup]:
    """A manual top-up: ``auto`` grants now, ``external`` waits for confirm or fail. An
    Idempotency-Key is always sent (a new one unless given), so a retry never tops up
    twice."""
    body = _body(
        currency_id=currency_id,
        meter_id=meter_id,
        amount=exact(amount),
        settlement=settlement,
        grant_template=None if grant_template is None else dict(grant_template),
        metadata=metadata,
    )
    path = _customer_path(customer_id, external_customer_id) + "/topups"
    return _create(path, Topup.model_validate, body, idempotency_key)


def topups_get(topup_id: str) -> Call[Topup]:
    return Call("GET", f"/v1/topups/{_seg(topup_id)}", Topup.model_validate)


def topups_list(
    *,
    customer_id: str | None = None,
    status: Literal["pending", "succeeded", "failed", "canceled", "expired"] | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[Topup]]:
    """One page of top-ups (a customer's, with ``customer_id``), newest first."""
    params = query(
        customer_id=customer_id, status=status, limit=limit, starting_after=starting_after
    )
    return Call("GET", "/v1/topups", _page(Topup), params=params)


def topups_confirm(
    topup_id: str,
    *,
    external_reference: str | None = None,
    idempotency_key: str | None = None,
) -> Call[Topup]:
    """The charge succeeded: the grant is made now. Retries of this call replay its
    answer (it carries an Idempotency-Key, a new one unless given); confirming again in a
    new call raises ConflictError (``topup_succeeded``)."""
    body = _body(external_reference=external_reference)
    path = f"/v1/topups/{_seg(topup_id)}/confirm"
    return _create(path, Topup.model_validate, body, idempotency_key)


def topups_fail(topup_id: str, *, reason: str, idempotency_key: str | None = None) -> Call[Topup]:
    """The charge failed: no grant; the rule waits its decline back-off."""
    path = f"/v1/topups/{_seg(topup_id)}/fail"
    return _create(path, Topup.model_validate, {"reason": reason}, idempotency_key)
