"""Calls of the webhooks and alerts APIs, described once (see ``_calls``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict

from drawdown.sdk._calls import OMIT, Omit, Time, _body, _create, _customer_path, _page, _seg, _time
from drawdown.sdk._http import Call, query
from drawdown.sdk._http import amount as exact
from drawdown.sdk.models import Page
from drawdown.sdk.webhook_models import (
    BalanceAlert,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookScheduled,
)

__all__ = ["Threshold"]

_E = "/v1/webhooks/endpoints"


class Threshold(TypedDict, total=False):
    code: str
    value: Decimal | str | int
    notify_on: list[str]


def _nothing(_: Any) -> None:
    return None


def endpoints_create(
    *,
    url: str,
    event_types: Sequence[str] = ("*",),
    description: str | None = None,
    enabled: bool | None = None,
    metadata: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Call[WebhookEndpoint]:
    """Create an endpoint. The result's ``secret`` is shown only here: keep it."""
    body = _body(
        url=url,
        event_types=list(event_types),
        description=description,
        enabled=enabled,
        metadata=metadata,
    )
    return _create(_E, WebhookEndpoint.model_validate, body, idempotency_key)


def endpoints_get(endpoint_id: str) -> Call[WebhookEndpoint]:
    return Call("GET", f"{_E}/{_seg(endpoint_id)}", WebhookEndpoint.model_validate)


def endpoints_list(
    *, limit: int | None = None, starting_after: str | None = None
) -> Call[Page[WebhookEndpoint]]:
    params = query(limit=limit, starting_after=starting_after)
    return Call("GET", _E, _page(WebhookEndpoint), params=params)


def endpoints_update(
    endpoint_id: str,
    *,
    url: str | Omit = OMIT,
    event_types: Sequence[str] | Omit = OMIT,
    description: str | Omit = OMIT,
    enabled: bool | Omit = OMIT,
    metadata: Mapping[str, Any] | Omit = OMIT,
) -> Call[WebhookEndpoint]:
    """Change the fields given."""
    types = event_types if isinstance(event_types, Omit) else list(event_types)
    body = _body(
        url=url, event_types=types, description=description, enabled=enabled, metadata=metadata
    )
    return Call("PATCH", f"{_E}/{_seg(endpoint_id)}", WebhookEndpoint.model_validate, body=body)


def endpoints_delete(endpoint_id: str) -> Call[None]:
    return Call("DELETE", f"{_E}/{_seg(endpoint_id)}", _nothing)


def endpoints_rotate_secret(
    endpoint_id: str, *, grace_period_seconds: int | None = None
) -> Call[WebhookEndpoint]:
    """A new secret (in the result); the old one also signs for the grace period."""
    body = _body(grace_period_seconds=grace_period_seconds)
    path = f"{_E}/{_seg(endpoint_id)}/rotate-secret"
    return Call("POST", path, WebhookEndpoint.model_validate, body=body)


def endpoints_enable(endpoint_id: str) -> Call[WebhookEndpoint]:
    return Call("POST", f"{_E}/{_seg(endpoint_id)}/enable", WebhookEndpoint.model_validate)


def endpoints_disable(endpoint_id: str) -> Call[WebhookEndpoint]:
    return Call("POST", f"{_E}/{_seg(endpoint_id)}/disable", WebhookEndpoint.model_validate)


def endpoints_test(endpoint_id: str) -> Call[WebhookEvent]:
    """Send a ``webhook.test`` event to this endpoint."""
    return Call("POST", f"{_E}/{_seg(endpoint_id)}/test", WebhookEvent.model_validate)


def endpoints_replay(
    endpoint_id: str, *, since: Time, until: Time | None = None, only_failed: bool = True
) -> Call[WebhookScheduled]:
    """Send the endpoint's events of ``[since, until)`` again (only failed ones by default)."""
    body = _body(since=_time(since), until=_time(until), only_failed=only_failed)
    path = f"{_E}/{_seg(endpoint_id)}/replay"
    return Call("POST", path, WebhookScheduled.model_validate, body=body)


def events_list(
    *,
    type: str | None = None,
    since: Time | None = None,
    until: Time | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[WebhookEvent]]:
    """The event log, newest first."""
    params = query(
        type=type,
        since=_time(since),
        until=_time(until),
        limit=limit,
        starting_after=starting_after,
    )
    return Call("GET", "/v1/webhooks/events", _page(WebhookEvent), params=params)


def events_get(event_id: str) -> Call[WebhookEvent]:
    return Call("GET", f"/v1/webhooks/events/{_seg(event_id)}", WebhookEvent.model_validate)


def events_redeliver(event_id: str, *, endpoint_id: str | None = None) -> Call[WebhookScheduled]:
    """Send an event again (same webhook-id) to one endpoint or to every subscriber."""
    path = f"/v1/webhooks/events/{_seg(event_id)}/redeliver"
    params = query(endpoint_id=endpoint_id)
    return Call("POST", path, WebhookScheduled.model_validate, params=params)


def deliveries_list(
    *,
    endpoint_id: str | None = None,
    event_id: str | None = None,
    succeeded: bool | None = None,
    http_code_class: int | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[WebhookDelivery]]:
    """Delivery attempts, newest first."""
    params = query(
        endpoint_id=endpoint_id,
        event_id=event_id,
        succeeded=succeeded,
        http_code_class=http_code_class,
        limit=limit,
        starting_after=starting_after,
    )
    return Call("GET", "/v1/webhooks/deliveries", _page(WebhookDelivery), params=params)


# Balance alerts


def _thresholds(thresholds: Sequence[Threshold]) -> list[dict[str, Any]]:
    out = []
    for t in thresholds:
        item: dict[str, Any] = {"code": t["code"], "value": exact(t["value"], "value")}
        if "notify_on" in t:
            item["notify_on"] = list(t["notify_on"])
        out.append(item)
    return out


def alerts_create(
    *,
    thresholds: Sequence[Threshold],
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    currency_id: str | None = None,
    meter_id: str | None = None,
    name: str | None = None,
    balance_type: str | None = None,
    rearm_margin: Decimal | str | int | None = None,
    enabled: bool | None = None,
    idempotency_key: str | None = None,
) -> Call[BalanceAlert]:
    """An alert for one customer, or with no customer the organization-wide default for
    every customer of the currency. Thresholds are decimal amounts, strictly decreasing."""
    body = _body(
        currency_id=currency_id,
        meter_id=meter_id,
        name=name,
        balance_type=balance_type,
        thresholds=_thresholds(thresholds),
        rearm_margin=None if rearm_margin is None else exact(rearm_margin, "rearm_margin"),
        enabled=enabled,
    )
    if customer_id is None and external_customer_id is None:
        path = "/v1/alerts"
    else:
        path = _customer_path(customer_id, external_customer_id) + "/alerts"
    return _create(path, BalanceAlert.model_validate, body, idempotency_key)


def alerts_get(alert_id: str, *, customer_id: str | None = None) -> Call[BalanceAlert]:
    params = query(customer_id=customer_id)
    return Call("GET", f"/v1/alerts/{_seg(alert_id)}", BalanceAlert.model_validate, params=params)


def alerts_list(
    *,
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    defaults_only: bool | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
) -> Call[Page[BalanceAlert]]:
    """A customer's alerts (with its state), or every alert of the organization."""
    params = query(limit=limit, starting_after=starting_after, defaults_only=defaults_only)
    if customer_id is None and external_customer_id is None:
        return Call("GET", "/v1/alerts", _page(BalanceAlert), params=params)
    path = _customer_path(customer_id, external_customer_id) + "/alerts"
    return Call("GET", path, _page(BalanceAlert), params=params)


def alerts_update(
    alert_id: str,
    *,
    name: str | Omit = OMIT,
    balance_type: str | Omit = OMIT,
    thresholds: Sequence[Threshold] | Omit = OMIT,
    rearm_margin: Decimal | str | int | Omit = OMIT,
    enabled: bool | Omit = OMIT,
) -> Call[BalanceAlert]:
    body = _body(
        name=name,
        balance_type=balance_type,
        thresholds=thresholds if isinstance(thresholds, Omit) else _thresholds(thresholds),
        rearm_margin=(
            rearm_margin if isinstance(rearm_margin, Omit) else exact(rearm_margin, "rearm_margin")
        ),
        enabled=enabled,
    )
    return Call("PATCH", f"/v1/alerts/{_seg(alert_id)}", BalanceAlert.model_validate, body=body)


def alerts_delete(alert_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/alerts/{_seg(alert_id)}", _nothing)


def alerts_enable(alert_id: str) -> Call[BalanceAlert]:
    return Call("POST", f"/v1/alerts/{_seg(alert_id)}/enable", BalanceAlert.model_validate)


def alerts_disable(alert_id: str) -> Call[BalanceAlert]:
    return Call("POST", f"/v1/alerts/{_seg(alert_id)}/disable", BalanceAlert.model_validate)
