"""``drawdown backup PATH`` and ``drawdown restore PATH``.

SQLite: the online backup API copies a consistent snapshot in one step while the server
keeps serving (WAL readers do not block its writers); the copy is written beside PATH and
renamed into place, so PATH is never half written. PostgreSQL: ``pg_dump --format=custom``
(one consistent snapshot, taken without blocking writers) and ``pg_restore``; the client
tools must be installed and of the server's major version or newer.

A restore refuses a target that already holds drawdown tables unless ``force`` is given:
restoring over a live ledger by mistake is the failure to prevent."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from drawdown.db.engine import Database, normalize_url
from drawdown.errors import DrawdownError

__all__ = ["BackupError", "backup", "restore"]

PG_TIMEOUT_S = 3600.0


class BackupError(DrawdownError):
    code = "backup_failed"
    title = "Backup failed"


def _sqlite_file(url: str) -> Path:
    name = make_url(normalize_url(url)).database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(name)


def _libpq_url(url: str) -> str:
    return normalize_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (PostgreSQL client tools)")
    return found


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=PG_TIMEOUT_S)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def backup(url: str, path: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``path`` (not overwritten)."""
    if path.exists():
        raise BackupError(f"{path} exists; choose a new file")
    partial = path.with_name(path.name + ".partial")
    try:
        if normalize_url(url).startswith("sqlite"):
            _sqlite_copy(_sqlite_file(url), partial)
        else:
            _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", _libpq_url(url)])
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no SQLite database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: one snapshot, never restarted by writers
    finally:
        dst.close()
        src.close()


def _has_tables(url: str) -> bool:
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            return bool(inspect(conn).get_table_names())
    finally:
        database.dispose()


def restore(url: str, path: Path, *, force: bool = False) -> None:
    """Load the backup at ``path`` into the (empty, unless ``force``) database at ``url``.
    Stop the servers that use it first; start them again afterwards (they migrate)."""
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    sqlite = normalize_url(url).startswith("sqlite")
    if not force and (_sqlite_file(url).exists() if sqlite else _has_tables(url)):
        raise BackupError("the target database is not empty; pass --force to replace it")
    if sqlite:
        target = _sqlite_file(url)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        _sqlite_copy(path, target)
        return
    args = [_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_libpq_url(url)}"]
    if force:
        args += ["--clean", "--if-exists"]
    _run([*args, str(path)])
