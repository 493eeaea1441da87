"""Logging: one JSON object per line (or a readable line on a terminal), with the request
id of the request or background job that wrote it.

The standard library does the work (no structlog needed): :func:`configure` installs one
handler on the root logger whose :class:`Formatter` renders every record, uvicorn's
included, the same way. Extra fields come from ``logger.info("...", extra={...})`` and from
:func:`bind` (context variables, so a request's fields follow it into the thread pool).
Anything that looks like an API key or a webhook secret is masked before it is written, a
second line of defence behind never passing them to a logger at all."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "Formatter",
    "LogFormat",
    "bind",
    "bound",
    "configure",
    "current_request_id",
    "mask_secrets",
    "uvicorn_log_config",
]

LogFormat = Literal["auto", "json", "console"]

# Fields bound for the current request or job (request_id, job, ...).
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "drawdown_log_context", default=None
)

# API keys (dd_live_..., dd_test_...), webhook secrets (whsec_...), bearer tokens.
_SECRET = re.compile(r"(dd_(?:live|test)_|whsec_|[Bb]earer\s+)[A-Za-z0-9_\-+/=.]{4,}")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


def mask_secrets(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


def current_request_id() -> str | None:
    fields = _context.get()
    return None if fields is None else fields.get("request_id")


def bind(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Add fields to every line logged in this context from now on."""
    return _context.set({**(_context.get() or {}), **fields})


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        _context.reset(token)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = dict(_context.get() or {})
    for name, value in vars(record).items():
        if name not in _STANDARD and not name.startswith("_"):
            out[name] = value
    return out


class Formatter(logging.Formatter):
    """JSON lines, or ``console`` lines for people; ``auto`` picks console on a terminal.
    The format comes from the constructor or DRAWDOWN_LOG_FORMAT (uvicorn's worker
    processes build their formatter from a config dict, so the environment carries it)."""

    def __init__(self, log_format: LogFormat | None = None) -> None:
        super().__init__()
        chosen = log_format or os.environ.get("DRAWDOWN_LOG_FORMAT", "auto")
        if chosen == "auto":
            chosen = "console" if sys.stderr.isatty() else "json"
        self.json = chosen == "json"

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        fields = _fields(record)
        if self.json:
            line: dict[str, Any] = {
                "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                    timespec="milliseconds"
                ),
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": message,
                **fields,
            }
            return mask_secrets(json.dumps(line, default=str, separators=(",", ":")))
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        extra = " ".join(f"{key}={value}" for key, value in fields.items())
        text = f"{stamp} {record.levelname:<7} {record.name}: {message}"
        return mask_secrets(f"{text}  {extra}" if extra else text)


def uvicorn_log_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn.run: every process (workers too) renders
    uvicorn's and drawdown's records with :class:`Formatter`. uvicorn's access log is off:
    drawdown writes its own line per request, with the request id and route."""
    os.environ["DRAWDOWN_LOG_FORMAT"] = log_format
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"drawdown": {"()": "drawdown.ops.logs.Formatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "drawdown",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": upper},
        "loggers": {
            "uvicorn": {"level": upper},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
            "alembic": {"level": "WARNING"},  # "Context impl ..." on every start
        },
    }


def configure(level: str, log_format: LogFormat) -> None:
    """Set up logging for a process that is not started by uvicorn (``drawdown worker``)."""
    import logging.config

    logging.config.dictConfig(uvicorn_log_config(level, log_format))
