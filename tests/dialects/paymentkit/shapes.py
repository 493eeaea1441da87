"""Checks a JSON response against Payment Kit's published TypeScript types.

``payment_types.json`` is derived from @blocklet/payment-types 1.27.2 and
@blocklet/payment-js 1.27.2 (npm) by ``vendor_types.py``: for each type, its fields with
their TypeScript type and whether they are optional. ``assert_shape(obj, "TMeterExpanded")``
fails when a required field is missing, a value has the wrong JSON type, or the object has a
field the type does not declare (other than the few drawdown adds on purpose, below)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

TYPES: dict[str, Any] = json.loads((Path(__file__).parent / "payment_types.json").read_text())

# The expanded types are intersections: a base model plus the expansion fields.
COMPOSED: dict[str, tuple[str, str | None]] = {
    "TMeterExpanded": ("TMeter", None),
    "TCreditGrantExpanded": ("TCreditGrant", "TCreditGrantExpanded"),
    "TCreditTransactionExpanded": ("TCreditTransaction", "TCreditTransactionExpanded"),
    "TMeterEventExpanded": ("TMeterEvent", "TMeterEventExpanded"),
}
# payment-types: TMeterExpanded = TMeter & {paymentCurrency: TPaymentCurrency}
METER_EXPANSION = {"paymentCurrency": ["TPaymentCurrency", False]}

# Fields drawdown adds on purpose (documented in docs/coming-from-paymentkit.md).
EXTRAS: dict[str, set[str]] = {
    # Which ledger movement the row is; Payment Kit only records consumptions.
    "TCreditTransactionExpanded": {"type"},
    # The meter a summary's currency belongs to (Payment Kit's server type has it).
    "CreditGrantSummary": {"meter"},
    # Page numbers next to Paginated's {count, list}.
    "Paginated": {"paging"},
}
# Required by the types but meaningless in drawdown (no payment methods, no
# subscriptions): always null.
NOT_APPLICABLE = {
    ("TCreditGrantExpanded", "paymentMethod"),
    ("TCreditTransactionExpanded", "subscription"),
    ("TMeterEventExpanded", "subscription"),
}

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STRINGISH = re.compile(r"^(CreationOptional<string>|string|LiteralUnion<.*, string>)$")
OBJECTS = {
    "Record<string, any>",
    "Record<string, string>",
    "MeterEventPayload",
    "CreditGrantApplicabilityConfig",
    "CreditGrantChainDetail",
    "VaultConfig",
    "RechargeConfig",
    "CustomerAddress",
    "CustomerShipping",
    "CustomerPreferences",
    "object",
}
NESTED = {"TPaymentCurrency", "TCustomer", "Customer", "TMeter", "TMeterEvent", "TCreditGrant"}
METER_EVENT_STATUSES = {
    "pending",
    "processing",
    "requires_action",
    "requires_capture",
    "completed",
    "canceled",
}


def fields_of(type_name: str) -> dict[str, list[Any]]:
    if type_name == "TMeterExpanded":
        return {**TYPES["TMeter"], **METER_EXPANSION}
    if type_name == "TCreditGrant & {paymentCurrency?}":
        # TCreditTransactionExpanded.creditGrant: TCreditGrant & {paymentCurrency?: ...}
        return {**TYPES["TCreditGrant"], "paymentCurrency": ["TPaymentCurrency", True]}
    if type_name in COMPOSED:
        base, expansion = COMPOSED[type_name]
        return {**TYPES[base], **(TYPES[expansion] if expansion else {})}
    return dict(TYPES[type_name])


def _check_value(value: Any, ts: str, where: str) -> None:
    if ts.endswith(" | null"):
        if value is None:
            return
        ts = ts.removesuffix(" | null")
    if ts == "any":
        return
    if ts.startswith("'") and "|" not in ts:
        assert value == ts.strip("'"), f"{where}: {value!r} is not {ts}"
    elif STRINGISH.match(ts) or ts == "CreditGrantChainStatus" or "|" in ts:
        assert isinstance(value, str), f"{where}: {value!r} is not a string ({ts})"
    elif ts in ("number", "CreationOptional<number>"):
        assert isinstance(value, int | float) and not isinstance(value, bool), (
            f"{where}: {value!r} is not a number"
        )
    elif ts == "boolean":
        assert isinstance(value, bool), f"{where}: {value!r} is not a boolean"
    elif ts in ("CreationOptional<Date>", "Date"):
        assert isinstance(value, str) and ISO_MS.match(value), f"{where}: {value!r} is not a Date"
    elif ts == "MeterEventStatus":
        assert value in METER_EVENT_STATUSES, f"{where}: {value!r} is not a MeterEventStatus"
    elif ts == "SourceData":
        assert isinstance(value, dict | list), f"{where}: {value!r} is not SourceData"
    elif ts in OBJECTS:
        assert isinstance(value, dict), f"{where}: {value!r} is not an object ({ts})"
    elif ts == "TCreditGrant" and where.endswith(".creditGrant"):
        assert_shape(value, "TCreditGrant & {paymentCurrency?}", where)
    elif ts in NESTED:
        assert_shape(value, "TCustomer" if ts == "Customer" else ts, where)
    elif ts.endswith("[]"):
        assert isinstance(value, list), f"{where}: {value!r} is not an array"
    else:
        raise AssertionError(f"{where}: no check for TypeScript type {ts}")


def assert_shape(obj: Any, type_name: str, where: str = "") -> None:
    where = where or type_name
    assert isinstance(obj, dict), f"{where}: {obj!r} is not an object"
    declared = fields_of(type_name)
    for name, (ts, optional) in declared.items():
        path = f"{where}.{name}"
        if (type_name, name) in NOT_APPLICABLE:
            assert obj.get(name) is None, f"{path} should be null in drawdown"
            continue
        if name not in obj:
            assert optional, f"{path} is required by {type_name} but missing"
            continue
        if obj[name] is None and optional:
            continue  # Sequelize renders an unset optional column as null
        _check_value(obj[name], ts, path)
    unknown = set(obj) - set(declared) - EXTRAS.get(type_name, set())
    assert not unknown, f"{where}: fields not in {type_name}: {sorted(unknown)}"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Payment Kit's error body: exactly {error: string, code: string}."""
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "code"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert body["code"] == code, body
    return body


def assert_page(body: Any, item_type: str) -> list[Any]:
    if item_type == "TCreditTransactionExpanded":
        # The credit-based billing guide reads transactions.total / transactions.data.
        body = dict(body)
        assert (body.pop("total"), body.pop("data")) == (body["count"], body["list"])
    assert_shape(body, "Paginated")
    assert set(body["paging"]) == {"page", "pageSize", "total", "totalPages"}
    for i, item in enumerate(body["list"]):
        assert_shape(item, item_type, f"list[{i}]")
    return list(body["list"])
