"""The request body each kind of endpoint receives for an event.

Native and Polar-dialect endpoints get the Standard Webhooks envelope ``{id, type,
timestamp, data}``. Payment Kit endpoints get Payment Kit's Event shape (``data.object``,
``object_type``, unix-second times) under its own names for the credit events."""

from __future__ import annotations

import json
from collections.abc import Callable

from drawdown.webhooks.records import StoredEvent
from drawdown.webhooks.signing import render_body

__all__ = [
    "PAYMENTKIT_NAMES",
    "native_type",
    "paymentkit_type",
    "register_renderer",
    "render_request",
]

# Native type -> Payment Kit's event name, where Payment Kit has one.
PAYMENTKIT_NAMES: dict[str, str] = {
    "credit.balance_low": "customer.credit.low_balance",
    "credit.balance_depleted": "customer.credit.insufficient",
    "credit_grant.created": "customer.credit_grant.granted",
    "credit_grant.depleted": "customer.credit_grant.depleted",
}
NATIVE_NAMES = {pk: native for native, pk in PAYMENTKIT_NAMES.items()}


def paymentkit_type(native: str) -> str:
    return PAYMENTKIT_NAMES.get(native, native)


def native_type(name: str) -> str:
    return NATIVE_NAMES.get(name, name)


def _object_type(native: str) -> str:
    return native.split(".", 1)[0]


Renderer = Callable[[str, StoredEvent], str]
# Bodies of other shapes, registered by the dialects that need them (a dialect imports
# webhooks, never the other way round).
_RENDERERS: dict[str, Renderer] = {}


def register_renderer(flavor: str, renderer: Renderer) -> None:
    _RENDERERS[flavor] = renderer


def render_request(flavor: str, message_id: str, event: StoredEvent) -> str:
    renderer = _RENDERERS.get(flavor)
    if renderer is not None:
        return renderer(message_id, event)
    if flavor != "paymentkit":
        return render_body(message_id, event.type, event.occurred_at, event.data)
    created = int(event.occurred_at.timestamp())
    data = event.data
    object_id = next((v for k, v in data.items() if k.endswith("_id") and v), None)
    body = {
        "id": message_id,
        "livemode": event.mode == "live",
        "type": paymentkit_type(event.type),
        "api_version": "2023-09-05",
        "data": {"object": data},
        "object_type": _object_type(event.type),
        "object_id": object_id,
        "request": {"id": None, "idempotency_key": None},
        "pending_webhooks": 1,
        "metadata": {},
        "created_at": created,
        "updated_at": created,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
