"""Every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``DRAWDOWN_TEST_DATABASE_URL`` (a server URL; each test process makes
its own database on it and drops it afterwards). When the variable is unset the PostgreSQL
half is skipped with a reason; when it is set and the server cannot be reached the run
fails, so CI never passes by skipping. Each test starts from empty tables."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from drawdown.app import create_app
from drawdown.clock import ManualClock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.migrate import upgrade
from drawdown.db.tables import metadata
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant

PG_ENV = "DRAWDOWN_TEST_DATABASE_URL"

# Servers that tests start inherit these: no background webhook delivery unless a test asks
# for it (a long-lived server's worker would take deliveries meant for another test's
# worker), and webhook receivers on 127.0.0.1 are allowed.
os.environ["DRAWDOWN_RUN_WEBHOOKS_IN_SERVER"] = "false"
os.environ["DRAWDOWN_WEBHOOK_ALLOW_PRIVATE"] = "true"
BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="drawdown-test-") as folder:
        url = f"sqlite:///{Path(folder) / f'test-{_worker()}.db'}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server_url = os.environ.get(PG_ENV)
    if not server_url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL half skipped")
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"drawdown_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(plain, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.exit(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}", returncode=3)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = plain.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


WIPE_ATTEMPTS = 5


def _wipe(database: Database) -> None:
    names = [table.name for table in reversed(metadata.sorted_tables)]
    if database.is_sqlite:
        with database.write() as conn:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
        return
    # A live server of an earlier test (its webhook worker, the clock) may still be reading
    # while TRUNCATE takes its table locks one by one: PostgreSQL then aborts one side as a
    # deadlock. If that is the TRUNCATE, take the locks again once the reader is done.
    for attempt in range(WIPE_ATTEMPTS):
        try:
            with database.write() as conn:
                conn.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
            return
        except OperationalError as exc:
            if not isinstance(exc.orig, psycopg.errors.DeadlockDetected):
                raise
            if attempt == WIPE_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


_databases: dict[str, Database] = {}


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    backend: str = request.param
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    if url not in _databases:
        _databases[url] = Database(url)
    db = _databases[url]
    _wipe(db)
    yield db


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(database: Database) -> Settings:
    return Settings(
        database_url=database.url,
        run_clock_in_server=False,
        run_webhooks_in_server=False,
        # Webhook receivers in tests listen on 127.0.0.1.
        webhook_allow_private=True,
    )


@pytest.fixture
def app(settings: Settings, database: Database, clock: ManualClock) -> Any:
    return create_app(settings, database=database, clock=clock)


class Api:
    """A test client bound to one API key."""

    def __init__(self, client: TestClient, secret: str, tenant: Tenant) -> None:
        self.client = client
        self.secret = secret
        self.tenant = tenant
        self.headers = {"Authorization": f"Bearer {secret}"}

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)

    def ok(self, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        """Make a call that must succeed with ``status``; return its JSON."""
        response = self.request(method, url, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None


@pytest.fixture
def test_client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def make_api(test_client: TestClient, database: Database) -> Any:
    """``make_api(scope=..., mode=..., organization_id=...)`` -> an :class:`Api` with a new key
    (and a new organization unless one is given)."""

    def factory(
        scope: str = "full", mode: str = "test", organization_id: uuid.UUID | None = None
    ) -> Api:
        with database.write() as conn:
            org = organization_id or keys.create_organization(conn, "test org")
            created = keys.create_key(conn, Tenant(org, mode), scope)  # type: ignore[arg-type]
        return Api(test_client, created.secret, created.tenant)

    return factory


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A real HTTP receiver on 127.0.0.1 verifying each delivery with standardwebhooks."""
    from tests.webhooks.receiver import Receiver

    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def deliverer(database: Database, clock: ManualClock, settings: Settings) -> Iterator[Any]:
    """A webhook delivery worker on the test's database and clock, driven pass by pass."""
    import random

    from drawdown.webhooks.worker import Deliverer

    worker = Deliverer(database, clock, settings, rng=random.Random(7))
    yield worker
    worker.close()
