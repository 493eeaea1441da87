"""Fresh databases for one run (a temporary SQLite file or a new PostgreSQL database),
migrated with the real alembic migrations, and dropped afterwards."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.settings import BenchSettings
from drawdown.db.migrate import upgrade

__all__ = ["fresh_database", "pg_dsn"]


def pg_dsn(url: str) -> str:
    """A libpq URL (psycopg) from a SQLAlchemy-style one."""
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def fresh_database(settings: BenchSettings, label: str) -> Iterator[str]:
    """Yields the URL of a new, migrated, empty database; removes it on exit."""
    if settings.is_pg:
        with _pg_database(settings.pg_server_url, label) as url:
            upgrade(url)
            yield url
    else:
        folder = tempfile.mkdtemp(prefix=f"drawdown-bench-{label}-")
        try:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _pg_database(server_url: str, label: str) -> Iterator[str]:
    server = pg_dsn(server_url)
    name = f"drawdown_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
