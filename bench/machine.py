"""What the figures ran on: the machine, the versions and the server settings."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.dbs import pg_dsn
from bench.settings import BenchSettings

__all__ = ["describe", "load"]

PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "pydantic",
    "sqlalchemy",
    "psycopg",
    "httpx",
)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _pg_version(settings: BenchSettings) -> str:
    with psycopg.connect(pg_dsn(settings.pg_server_url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def describe(settings: BenchSettings) -> list[str]:
    storage = _pg_version(settings) if settings.is_pg else f"SQLite {sqlite3.sqlite_version}"
    packages = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    return [
        f"# drawdown benchmark on {storage}",
        "",
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}",
        f"- machine: {os.cpu_count()} cores ({_cpu_model()}), {_memory_gib():.1f} GiB, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {packages}",
        f"- server: `drawdown serve`, DRAWDOWN_WORKERS={settings.workers}, log level warning "
        "(no access log), otherwise production defaults (uvicorn auto loop/http)",
    ]


def load() -> str:
    """How busy the shared machine is: load average and CPU pressure (share of time some
    task waited for a core)."""
    one, five, _ = os.getloadavg()
    pressure = "?"
    try:
        first = Path("/proc/pressure/cpu").read_text().split()[1]  # avg10=NN.NN
        pressure = first.split("=")[1] + "%"
    except (OSError, IndexError):
        pass
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min), CPU pressure {pressure} (10 s)"
