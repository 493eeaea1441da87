"""``drawdown ingest FILE``: send a JSON Lines or CSV file of usage events.

The file is read twice: once to check every line parses (so a typo on the last line does
not leave the file half sent) and count events for the progress bar, then streamed to the
server in batches. Sending a file again is safe: events already stored (same identifier)
count as duplicates."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from drawdown.commands._common import (
    ApiKey,
    BaseUrl,
    Json,
    connect,
    consoles,
    fail,
    reporting_errors,
)
from drawdown.sdk import Client, IngestTotals

__all__ = ["EVENT_FIELDS", "ingest", "read_events"]

# CSV columns that are event fields; every other column is a property.
EVENT_FIELDS = ("identifier", "name", "customer_id", "external_customer_id", "timestamp")
_INT = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


class Format(StrEnum):
    auto = "auto"
    jsonl = "jsonl"
    csv = "csv"


class FileError(ValueError):
    """A line of the file cannot be read as an event."""


def _format(path: Path, chosen: Format) -> Format:
    if chosen is not Format.auto:
        return chosen
    return Format.csv if path.suffix.lower() == ".csv" else Format.jsonl


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as exc:
                raise FileError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(event, dict):
                raise FileError(f"{path}:{number}: an event must be a JSON object")
            yield event


def _scalar(text: str) -> Any:
    """CSV cells are text; numbers become JSON numbers so sum meters can add them."""
    if _INT.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text)  # the shortest repr of the float is the text itself
    return text


def _csv_event(row: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for column, cell in row.items():
        if cell is None or cell == "":
            continue
        if column in EVENT_FIELDS:
            event[column] = cell
            continue
        # A dotted header (usage.input) makes a nested property.
        *parents, leaf = column.split(".")
        target = properties
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = _scalar(cell)
    if properties:
        event["properties"] = properties
    return event


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as rows:
        reader = csv.DictReader(rows)
        if not reader.fieldnames or "name" not in reader.fieldnames:
            raise FileError(f"{path}: the first row must be a header naming columns (name, ...)")
        for row in reader:
            if None in row:
                raise FileError(f"{path}:{reader.line_num}: more cells than header columns")
            yield _csv_event(row)


def read_events(path: Path, file_format: Format = Format.auto) -> Iterator[dict[str, Any]]:
    """The events in a JSON Lines or CSV file, one at a time."""
    return _csv(path) if _format(path, file_format) is Format.csv else _jsonl(path)


def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="A .jsonl (one event per line) or .csv file."
        ),
    ],
    file_format: Annotated[
        Format, typer.Option("--format", help="File format; auto: by extension.")
    ] = Format.auto,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Events per request (the server's limit: 1000).")
    ] = 1000,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Requests in flight.")] = 1,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar on stderr.")
    ] = True,
    api_key: ApiKey = None,
    base_url: BaseUrl = "http://127.0.0.1:8000",
    as_json: Json = False,
) -> None:
    """Ingest usage events from FILE (JSON Lines or CSV) in batches.

    Each event needs an identifier (its idempotency key), a name and a customer_id or
    external_customer_id; timestamp and properties are optional. In a CSV file those are
    columns and every other column is a property (a dotted header like usage.input nests)."""
    try:
        count = sum(1 for _ in read_events(file, file_format))
    except FileError as exc:
        raise fail(str(exc), 2) from None
    with reporting_errors(), connect(api_key, base_url) as client:
        totals = _send(
            client, read_events(file, file_format), count, batch_size, concurrency, progress
        )
    _report(totals, as_json)


def _send(
    client: Client,
    events: Iterator[dict[str, Any]],
    count: int,
    batch_size: int,
    concurrency: int,
    show: bool,
) -> IngestTotals:
    columns = (
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=consoles.err, disable=not show, transient=False) as bar:
        task = bar.add_task("ingest", total=count)
        totals = client.events.ingest_all(
            events,
            batch_size=batch_size,
            concurrency=concurrency,
            on_batch=lambda done: bar.update(task, completed=done.events),
        )
    return totals


def _report(totals: IngestTotals, as_json: bool) -> None:
    summary = {
        "events": totals.events,
        "inserted": totals.inserted,
        "duplicates": totals.duplicates,
        "batches": totals.batches,
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        consoles.out.print(
            f"{totals.events} events in {totals.batches} batches: "
            f"{totals.inserted} inserted, {totals.duplicates} duplicates",
            highlight=False,
        )
