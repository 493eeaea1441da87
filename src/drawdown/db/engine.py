"""Engines for SQLite and PostgreSQL behind one interface, and the transaction scope.

The caller (a request handler or a background task) owns the transaction:

    with database.write() as conn:      # BEGIN IMMEDIATE on SQLite
        service.do_something(conn, ...)
    # committed here, before any response is sent

Services and stores receive the connection and never commit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

from drawdown.db.sqlite_functions import register as register_sqlite_functions

__all__ = ["Database", "after_commit", "normalize_url"]

_AFTER_COMMIT = "drawdown_after_commit"


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run ``callback`` (in this process) once the write transaction of ``conn`` commits;
    never if it rolls back. For wake-ups only: the work itself must be in the database."""
    conn.info.setdefault(_AFTER_COMMIT, []).append(callback)


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3; everything else passes through."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = (
            _sqlite_engine(self.url) if self.is_sqlite else _pg_engine(self.url, pool_size)
        )
        # SQLite has one writer. BEGIN IMMEDIATE is what makes writes correct across
        # processes; this lock only makes the threads of one process queue in turn instead
        # of polling SQLite's busy handler, whose sleeps of up to 100 ms let a waiting
        # writer starve (benchmarks measured multi-second p99 ingest latencies without it).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._write_turn: AbstractContextManager[object] = (
            threading.RLock() if self.is_sqlite else nullcontext()
        )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write. On SQLite it takes the write lock up front
        (BEGIN IMMEDIATE), so two writers queue instead of failing mid-transaction.
        Callbacks registered with :func:`after_commit` run once it has committed."""
        with self._write_turn, self.engine.connect() as conn:
            conn = conn.execution_options(drawdown_write=True)
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                conn.info.pop(_AFTER_COMMIT, None)
                raise
            callbacks = conn.info.pop(_AFTER_COMMIT, [])
        for callback in dict.fromkeys(callbacks):
            callback()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def read_once(self) -> Iterator[Connection]:
        """For a read whose answer is one statement (a single statement sees one snapshot):
        on PostgreSQL without BEGIN and COMMIT, so it is one round trip, not three."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self._autocommit.connect() as conn:
            yield conn

    def ping(self) -> None:
        """One round trip to the database; raises if it cannot be reached."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        register_sqlite_functions(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("drawdown_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _pg_engine(url: str, pool_size: int) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
