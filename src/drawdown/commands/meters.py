"""``drawdown meters create|list|usage``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from drawdown.commands._common import (
    ApiKey,
    BaseUrl,
    Column,
    Json,
    Limit,
    MetadataOpt,
    ShowAll,
    connect,
    consoles,
    emit_list,
    emit_object,
    fail,
    first,
    metadata_pairs,
    page_size,
    reporting_errors,
)
from drawdown.sdk import MeterUsage

__all__ = ["app"]

app = typer.Typer(help="Create and list meters; show a meter's usage.", no_args_is_help=True)

# `meters usage` without --from shows this many days before --to.
DEFAULT_USAGE_DAYS = 30

COLUMNS: list[Column] = [
    ("id", lambda m: m.id),
    ("name", lambda m: m.name),
    ("event_name", lambda m: m.event_name),
    ("aggregation", lambda m: f"{m.aggregation.func}({m.aggregation.property or ''})"),
    ("rate", lambda m: m.rate),
    ("currency_id", lambda m: m.currency_id),
    ("status", lambda m: m.status),
]
BUCKET_COLUMNS: list[Column] = [
    ("start", lambda b: b.start),
    ("end", lambda b: b.end),
    ("group", lambda b: b.group),
    ("value", lambda b: b.value),
]


def _json_option(value: str | None, option: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise fail(f"{option} must be JSON: {exc}", 2) from None


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Display name.")],
    event_name: Annotated[str, typer.Option(help="Events with this name feed the meter.")],
    aggregation: Annotated[
        str, typer.Option(help="sum, count, max, min, avg, unique or latest.")
    ] = "count",
    property_: Annotated[
        str | None,
        typer.Option("--property", help="Property path aggregated (e.g. tokens, usage.input)."),
    ] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", help="Filter clauses as JSON.", show_default=False)
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Unit label (e.g. tokens).")] = None,
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    currency_id: Annotated[
        str | None, typer.Option(help="Currency credits are drawn in (default: a new one).")
    ] = None,
    rate: Annotated[str | None, typer.Option(help="Credits per unit, e.g. 0.002.")] = None,
    metadata: MetadataOpt = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Create a meter over events named --event-name and print it."""
    agg = {"func": aggregation, "property": property_}
    with reporting_errors(), connect(api_key, base_url) as client:
        meter = client.meters.create(
            name=name,
            event_name=event_name,
            aggregation=agg,
            filter=_json_option(filter_, "--filter"),
            unit=unit,
            description=description,
            currency_id=currency_id,
            rate=rate,
            metadata=metadata_pairs(metadata or []),
        )
    emit_object(meter, as_json)


@app.command("list")
def list_(
    event_name: Annotated[str | None, typer.Option(help="Only this event name.")] = None,
    status: Annotated[str | None, typer.Option(help="active or inactive.")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Search names.")] = None,
    limit: Limit = 20,
    show_all: ShowAll = False,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """List meters, newest first."""
    with reporting_errors(), connect(api_key, base_url) as client:
        items = client.meters.list_all(
            event_name=event_name,
            status=status,  # type: ignore[arg-type]  # the server names a bad value
            q=query,
            limit=page_size(limit, show_all),
        )
        shown = first(items, limit, show_all)
    emit_list(shown, COLUMNS, as_json, "meters")


@app.command("usage")
def usage(
    meter: Annotated[str, typer.Argument(help="A mtr_ id or the meter's event name.")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Start, RFC 3339 (e.g. 2025-01-01T00:00:00Z); default: 30 days before --to.",
        ),
    ] = None,
    to: Annotated[str | None, typer.Option(help="End (exclusive), RFC 3339; default: now.")] = None,
    window: Annotated[
        str | None, typer.Option(help="minute, hour, day, week, month or none.")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone where days start.")] = None,
    customer_id: Annotated[str | None, typer.Option(help="Only this customer (cus_ id).")] = None,
    group_by: Annotated[str | None, typer.Option(help="'customer' or a property path.")] = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Show a meter's usage: one row per window (and group), then the total."""
    with reporting_errors(), connect(api_key, base_url) as client:
        end: str | datetime = to or datetime.now(UTC)
        start = from_ or (_parse_time(end) - timedelta(days=DEFAULT_USAGE_DAYS))
        result = client.meters.usage(
            meter,
            from_=start,
            to=end,
            window=window,  # type: ignore[arg-type]  # the server names a bad value
            timezone=timezone,
            customer_id=customer_id,
            group_by=group_by,
        )
    _emit_usage(result, as_json)


def _parse_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--to must be an RFC 3339 time, got {value!r}", 2) from None


def _emit_usage(result: MeterUsage, as_json: bool) -> None:
    if as_json:
        emit_object(result, True)
        return
    span = f"{result.from_:%Y-%m-%d %H:%M} to {result.to:%Y-%m-%d %H:%M}"
    title = f"usage of {result.meter_id}, {span} ({result.window}, {result.timezone})"
    emit_list(result.buckets, BUCKET_COLUMNS, False, title)
    consoles.out.print(f"total: {result.total if result.total is not None else ''}")
