"""Dashboard fixtures: a signed-in test client (no browser) and, for the ``browser`` tests,
one headless Chromium (Debian's, driven by Playwright; no browser download) shared by the
module's tests, against a real ``drawdown serve`` on each database.

Without /usr/bin/chromium the browser tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant
from tests.sdk.conftest import LiveServer, start_server

CHROMIUM = Path(os.environ.get("DRAWDOWN_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parent / "artifacts"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_key(
    database: Database,
    scope: str = "full",
    mode: str = "test",
    organization_id: uuid.UUID | None = None,
) -> keys.CreatedKey:
    with database.write() as conn:
        org = organization_id or keys.create_organization(conn, "dashboard test org")
        return keys.create_key(conn, Tenant(org, mode), scope)  # type: ignore[arg-type]


class Dash:
    """A TestClient signed in to the dashboard with one key."""

    def __init__(self, client: TestClient, key: keys.CreatedKey) -> None:
        self.client = client
        self.key = key
        page = client.get("/dashboard/login")
        assert page.status_code == 200, page.text
        login = client.post(
            "/dashboard/login",
            data={"csrf_token": csrf_of(page.text), "api_key": key.secret, "next": "/dashboard"},
            follow_redirects=False,
        )
        assert login.status_code == 303, login.text
        self.csrf = csrf_of(client.get("/dashboard").text)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        body = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=body, follow_redirects=False, **kwargs)


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def signed_in(app: Any, database: Database) -> Iterator[Callable[..., Dash]]:
    """``signed_in(scope=..., mode=..., organization_id=...)`` -> a fresh client and key."""
    clients: list[TestClient] = []

    def factory(**kwargs: Any) -> Dash:
        client = TestClient(app)
        clients.append(client)
        return Dash(client, new_key(database, **kwargs))

    yield factory
    for client in clients:
        client.close()


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + ": browser tests are required in CI")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for the module's tests. Not for the whole session: while Playwright's
    sync API runs, the thread counts as inside an event loop and asyncio.run() fails in
    the tests that come after."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


class Servers:
    """A ``drawdown serve`` per database, started when first needed, without the
    background clock (reads apply it anyway)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: dict[str, LiveServer] = {}

    def url_for(self, database_url: str) -> str:
        if database_url not in self.running:
            env = {"DRAWDOWN_RUN_CLOCK_IN_SERVER": "false"}
            self.running[database_url] = start_server(database_url, self.folder, env)
        server = self.running[database_url]
        assert server.process.poll() is None, server.log()
        return server.url


@pytest.fixture(scope="module")
def dashboard_servers() -> Iterator[Servers]:
    """For this module only: servers left running would do the clock's work on the test
    databases while later tests wait for their own server to do it."""
    with tempfile.TemporaryDirectory(prefix="drawdown-dashboard-") as folder:
        servers = Servers(Path(folder))
        yield servers
        for server in servers.running.values():
            server.stop()


@pytest.fixture
def live_url(database: Database, dashboard_servers: Servers) -> str:
    return dashboard_servers.url_for(database.url)


@pytest.fixture
def browser_page(chromium: Any, live_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (its own cookies) on the live server; on failure its last
    screen is saved beside the other screenshots."""
    # bypass_csp: the tests evaluate JavaScript in the page; it also means escaping alone,
    # not the pages' CSP, keeps the script-named customer from running.
    context = chromium.new_context(
        base_url=live_url, viewport={"width": 1360, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
