"""Translation helpers: drawdown rows to Polar's shapes and Polar's inputs to drawdown's.

One id, several renderings: Polar shows our UUIDv7 as a plain UUID string."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from drawdown.dialects.polar.schemas import (
    Aggregation,
    CountAggregation,
    CustomerOut,
    EventOut,
    Filter,
    FilterClause,
    MeterOut,
    MeterUnit,
)
from drawdown.errors import ValidationFailed
from drawdown.meters.filters import Filter as NativeFilter
from drawdown.meters.filters import PropertyPath
from drawdown.records import CustomerRecord, EventRecord, MeterRecord

__all__ = [
    "META_PREFIX",
    "Interval",
    "aggregation_in",
    "customer_out",
    "event_out",
    "filter_in",
    "meter_filter_out",
    "meter_out",
    "modified_at",
    "native_model",
    "next_period",
    "period_start",
    "polar_id",
    "split_filter",
    "unit_in",
]

# Polar addresses event metadata as "metadata.<path>" (or a bare path); drawdown as
# "properties.<path>" (or a bare path). Both prefixes are optional and mean the same.
META_PREFIX = "metadata."
_NATIVE_PREFIX = "properties."
_PATH: TypeAdapter[str] = TypeAdapter(PropertyPath)
_NAME_CLAUSE_HELP = (
    "a drawdown meter counts the events of one name: the filter needs the clause "
    '{"property": "name", "operator": "eq", "value": "<event name>"} at its top level, '
    'joined to any others by "and"'
)

M = TypeVar("M", bound=BaseModel)


def native_model(model: type[M], data: dict[str, Any], loc: list[str | int]) -> M:
    """A native request model built from translated input; its errors name ``loc``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            [([*loc, *err["loc"]], err["msg"]) for err in exc.errors()], placed=True
        ) from None


def polar_id(value: uuid.UUID) -> str:
    return str(value)


def modified_at(created_at: datetime, updated_at: datetime) -> datetime | None:
    """Polar's ``modified_at`` is null until the object is first changed."""
    return None if updated_at == created_at else updated_at


def customer_out(row: CustomerRecord) -> CustomerOut:
    """A customer in Polar's shape. drawdown does not store Polar's ``type``: a customer
    without an email is shown as a ``team`` customer, the only kind Polar allows without
    one, so that the SDKs (which require an email on individuals) can read it."""
    return CustomerOut(
        id=row.id,
        created_at=row.created_at,
        modified_at=modified_at(row.created_at, row.updated_at),
        metadata=row.metadata_,
        external_id=row.external_id,
        email=row.email,
        type="individual" if row.email is not None else "team",
        name=row.name,
        billing_name=row.name,
        organization_id=row.organization_id,
        deleted_at=row.deleted_at,
        avatar_url=avatar_url(row.email),
    )


def avatar_url(email: str | None) -> str:
    """Polar always sends a string here (its forks' SDKs, Spaire's, refuse null): the
    email's Gravatar address, as Polar makes it, or "" for a customer with no email."""
    if email is None:
        return ""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=404"


# ---- meters -----------------------------------------------------------------------------


def _path_in(path: str) -> str:
    return _NATIVE_PREFIX + path.removeprefix(META_PREFIX) if path.startswith(META_PREFIX) else path


def _path_out(path: str) -> str:
    return (
        META_PREFIX + path.removeprefix(_NATIVE_PREFIX) if path.startswith(_NATIVE_PREFIX) else path
    )


def _clauses_in(
    node: Filter, loc: list[str | int], errors: list[tuple[list[str | int], str]]
) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = []
    for index, clause in enumerate(node.clauses):
        here = [*loc, "clauses", index]
        if isinstance(clause, Filter):
            clauses.append(_clauses_in(clause, here, errors))
            continue
        item = clause.model_dump()
        item["property"] = _path_in(clause.property)
        try:
            _PATH.validate_python(item["property"])
        except ValidationError:
            errors.append(([*here, "property"], "must be a dot path of letters, digits, _ and -"))
        clauses.append(item)
    return {"conjunction": node.conjunction, "clauses": clauses}


def filter_in(node: Filter, loc: list[str | int]) -> dict[str, Any]:
    """A Polar filter as a native one (metadata paths renamed), checked by drawdown's
    filter rules (path syntax, depth, clause count); errors name ``loc``."""
    errors: list[tuple[list[str | int], str]] = []
    native = _clauses_in(node, loc, errors)
    if errors:
        raise ValidationFailed(errors, placed=True)
    try:
        NativeFilter.model_validate(native)
    except ValidationError as exc:
        messages = dict.fromkeys(str(err["msg"]) for err in exc.errors())
        raise ValidationFailed([(loc, msg) for msg in messages], placed=True) from None
    return native


def _is_name_clause(clause: FilterClause | Filter) -> bool:
    return (
        isinstance(clause, FilterClause) and clause.property == "name" and clause.operator == "eq"
    )


def split_filter(node: Filter, loc: list[str | int]) -> tuple[str, dict[str, Any] | None]:
    """Polar's meter filter as drawdown's (event_name, filter): the top-level clause
    ``name eq X`` becomes the event name and the other clauses the filter. A filter
    without exactly one such name (one that ORs names, or nests the name clause) is a 422:
    a drawdown meter counts the events of one name."""
    names = [c for c in node.clauses if _is_name_clause(c)]
    values = {c.value for c in names if isinstance(c, FilterClause)}
    joined_by_or = node.conjunction == "or" and len(node.clauses) > 1
    if len(values) != 1 or joined_by_or or not isinstance(next(iter(values)), str):
        raise ValidationFailed([(loc, _NAME_CLAUSE_HELP)], placed=True)
    event_name = str(next(iter(values)))
    native = filter_in(node, loc)  # checked whole, so errors keep the clauses' indexes
    rest = [
        c
        for c, kept in zip(native["clauses"], node.clauses, strict=True)
        if not _is_name_clause(kept)
    ]
    return event_name, {"conjunction": "and", "clauses": rest} if rest else None


def _filter_out(native: dict[str, Any]) -> Filter:
    clauses: list[FilterClause | Filter] = []
    for clause in native.get("clauses", []):
        if "clauses" in clause:
            clauses.append(_filter_out(clause))
        else:
            clauses.append(
                FilterClause(
                    property=_path_out(clause["property"]),
                    operator=clause["operator"],
                    value=clause["value"],
                )
            )
    return Filter(conjunction=native.get("conjunction", "and"), clauses=clauses)


def meter_filter_out(event_name: str, native: dict[str, Any] | None) -> Filter:
    """The inverse of :func:`split_filter`: ``name eq <event_name>`` and the native filter."""
    clauses: list[FilterClause | Filter] = [
        FilterClause(property="name", operator="eq", value=event_name)
    ]
    if native and native.get("clauses"):
        rest = _filter_out(native)
        clauses += rest.clauses if rest.conjunction == "and" else [rest]
    return Filter(conjunction="and", clauses=clauses)


def aggregation_in(aggregation: Aggregation) -> dict[str, Any]:
    if isinstance(aggregation, CountAggregation):
        return {"func": "count", "property": None}
    return {"func": aggregation.func, "property": _path_in(aggregation.property)}


def _aggregation_out(func: str, prop: str | None) -> dict[str, Any]:
    if func == "count":
        return {"func": "count"}
    return {"func": func, "property": _path_out(prop or "")}


def unit_in(unit: MeterUnit, custom_label: str | None, loc: list[str | int]) -> str:
    """Polar's unit as drawdown's free-text unit: scalar is drawdown's default (no unit),
    token is "token", custom is its label."""
    if unit == "custom":
        if not custom_label:
            raise ValidationFailed(
                [([*loc[:-1], "custom_label"], "is required for a custom unit")], placed=True
            )
        return custom_label
    return "" if unit == "scalar" else unit


def _unit_out(unit: str) -> tuple[MeterUnit, str | None]:
    if unit in ("", "scalar"):
        return "scalar", None
    if unit == "token":
        return "token", None
    return "custom", unit


def meter_out(row: MeterRecord) -> MeterOut:
    unit, label = _unit_out(row.unit)
    return MeterOut.model_validate(
        {
            "metadata": row.metadata_,
            "created_at": row.created_at,
            "modified_at": modified_at(row.created_at, row.updated_at),
            "id": polar_id(row.id),
            "name": row.name,
            "unit": unit,
            "custom_label": label,
            "filter": meter_filter_out(row.event_name, row.filter),
            "aggregation": _aggregation_out(row.aggregation_func, row.aggregation_property),
            "organization_id": polar_id(row.organization_id),
            # drawdown keeps no deactivation time: the last change stands for it.
            "archived_at": row.updated_at if row.status == "inactive" else None,
        }
    )


# ---- events -----------------------------------------------------------------------------


def event_out(row: EventRecord, customer: CustomerRecord | None) -> EventOut:
    """An event as Polar's user event; ``customer`` is its customer's row, if any."""
    return EventOut(
        id=polar_id(row.id),
        timestamp=row.timestamp,
        organization_id=polar_id(row.organization_id),
        customer_id=polar_id(row.customer_id) if row.customer_id else None,
        customer=customer_out(customer) if customer is not None else None,
        external_customer_id=row.external_customer_id,
        label=row.name,
        name=row.name,
        metadata=row.properties,
    )


# ---- time periods of quantities ---------------------------------------------------------

Interval = Literal["year", "month", "week", "day", "hour"]


def period_start(instant: datetime, interval: Interval, tz: tzinfo) -> datetime:
    """The start (UTC) of the wall-clock period of ``tz`` that holds ``instant``, as
    PostgreSQL's ``date_trunc`` gives it (weeks start on Monday)."""
    wall = instant.astimezone(tz).replace(tzinfo=None)
    if interval == "hour":
        wall = wall.replace(minute=0, second=0, microsecond=0)
    else:
        wall = wall.replace(hour=0, minute=0, second=0, microsecond=0)
        if interval == "week":
            wall -= timedelta(days=wall.weekday())
        elif interval == "month":
            wall = wall.replace(day=1)
        elif interval == "year":
            wall = wall.replace(month=1, day=1)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def next_period(start: datetime, interval: Interval, tz: tzinfo) -> datetime:
    """The start (UTC) of the period after the one starting at ``start``."""
    wall = start.astimezone(tz).replace(tzinfo=None)
    if interval == "year":
        wall = wall.replace(year=wall.year + 1)
    elif interval == "month":
        wall = wall.replace(year=wall.year + wall.month // 12, month=wall.month % 12 + 1)
    else:
        step = {"week": timedelta(days=7), "day": timedelta(days=1)}.get(interval)
        if step is None:  # an hour is an hour of real time, across DST changes too
            return start + timedelta(hours=1)
        wall += step
    return wall.replace(tzinfo=tz).astimezone(UTC)
