"""What every operator command shares: connection options, output (rich tables or JSON) and
turning SDK errors into one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drawdown.sdk import APIConnectionError, APIStatusError, Client, IngestBatchError

__all__ = [
    "ApiKey",
    "BaseUrl",
    "Column",
    "External",
    "Json",
    "Limit",
    "MetadataOpt",
    "ShowAll",
    "connect",
    "consoles",
    "emit_list",
    "emit_object",
    "fail",
    "first",
    "metadata_pairs",
    "page_size",
    "reporting_errors",
]

ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", envvar="DRAWDOWN_API_KEY", help="API key.", show_default=False),
]
BaseUrl = Annotated[
    str,
    typer.Option("--base-url", envvar="DRAWDOWN_BASE_URL", help="Server URL."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
Limit = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many items.")]
MetadataOpt = Annotated[
    list[str] | None,
    typer.Option("--metadata", "-m", help="KEY=VALUE; repeat for more keys."),
]
ShowAll = Annotated[bool, typer.Option("--all", help="Show every item (walks all pages).")]
External = Annotated[
    bool,
    typer.Option("--external", "-e", help="CUSTOMER is your external id, not a cus_ id."),
]
DEFAULT_BASE_URL = "http://127.0.0.1:8000"

# A table column: header, and how to get the cell's text from an object.
Column = tuple[str, Callable[[Any], Any]]

# Piped output (a file, grep) gets wide tables rather than text folded at 80 columns.
PIPED_WIDTH = 240


class _Consoles:
    """Made when first printed to, so they write to the streams in force then."""

    @property
    def out(self) -> Console:
        return Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)

    @property
    def err(self) -> Console:
        return Console(stderr=True, width=None if sys.stderr.isatty() else PIPED_WIDTH)


consoles = _Consoles()


def fail(message: str, code: int = 1) -> typer.Exit:
    consoles.err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def connect(api_key: str | None, base_url: str) -> Client:
    if not api_key:
        raise fail("no API key: pass --api-key or set DRAWDOWN_API_KEY", 2)
    # The CLI is interactive: fail fast rather than back off for long.
    return Client(api_key, base_url=base_url, max_retries=2, timeout_s=60.0)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn an API failure into an error line (and each bad field) and exit code 1."""
    try:
        yield
    except IngestBatchError as exc:
        _report(exc.error)
        raise fail(
            f"batch {exc.batch_index} (events from #{exc.first_event_index}) was not stored; "
            f"stored before it: {exc.totals.inserted} inserted, "
            f"{exc.totals.duplicates} duplicates"
        ) from None
    except (APIStatusError, APIConnectionError) as exc:
        _report(exc)
        raise typer.Exit(1) from None
    except ValueError as exc:  # the SDK's checks on arguments
        raise fail(str(exc), 2) from None


def _report(exc: Exception) -> None:
    if isinstance(exc, APIStatusError):
        detail = escape(f"{exc.status} {exc.code}: {exc.detail}")
        consoles.err.print(f"[bold red]error:[/] {detail}", highlight=False)
        for item in exc.errors:
            where = ".".join(str(p) for p in item.loc)
            consoles.err.print(f"  {where}: {item.msg}", highlight=False, markup=False)
    else:
        hint = ""
        if isinstance(exc, APIConnectionError):
            hint = " (is `drawdown serve` running? Set DRAWDOWN_BASE_URL or --base-url)"
        consoles.err.print(f"[bold red]error:[/] {escape(str(exc) + hint)}", highlight=False)


def metadata_pairs(pairs: Sequence[str]) -> dict[str, str] | None:
    """``KEY=VALUE`` options into a metadata dict (None when none were given)."""
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--metadata takes KEY=VALUE, got {pair!r}", 2)
        out[key] = value
    return out


def page_size(limit: int, everything: bool) -> int:
    """Page size for walking a list: big pages for --all, no more than needed otherwise."""
    return 100 if everything else min(limit, 100)


def first(items: Iterable[Any], limit: int, everything: bool) -> list[Any]:
    result: list[Any] = []
    for item in items:
        if not everything and len(result) >= limit:
            break
        result.append(item)
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal | int | str):
        return str(value)
    return json.dumps(_plain(value), separators=(",", ":"))


def emit_object(obj: BaseModel, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_plain(obj), indent=2))
        return
    table = Table(show_header=False, box=None)
    for name in obj.model_dump(by_alias=True):
        table.add_row(f"[bold]{name}[/]", escape(_cell(getattr(obj, _attr(obj, name)))))
    consoles.out.print(table)


def _attr(obj: BaseModel, alias: str) -> str:
    for name, info in type(obj).model_fields.items():
        if info.alias == alias:
            return name
    return alias


def emit_list(items: Sequence[Any], columns: Sequence[Column], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps([_plain(item) for item in items], indent=2))
        return
    table = Table(title=f"{title} ({len(items)})", title_justify="left")
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for item in items:
        table.add_row(*(escape(_cell(get(item))) for _, get in columns))
    consoles.out.print(table)
