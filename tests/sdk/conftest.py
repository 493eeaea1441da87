"""A real ``drawdown serve`` process per database (SQLite file, PostgreSQL), started once per
test session on a free 127.0.0.1 port; each test gets a fresh organization and API key on it
(the ``database`` fixture empties the tables between tests)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

import drawdown
from drawdown.cli import app as cli_app
from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant

DRAWDOWN_BIN = str(Path(sys.executable).with_name("drawdown"))
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    database_url: str, folder: Path, extra_env: dict[str, str] | None = None
) -> LiveServer:
    port = free_port()
    log_path = folder / f"server-{port}.log"
    env = {
        **os.environ,
        "DRAWDOWN_DATABASE_URL": database_url,
        "DRAWDOWN_LOG_LEVEL": "warning",
        # Webhook receivers in tests listen on 127.0.0.1. Delivery is off unless a test
        # turns it on: a long-lived server's worker would take other tests' deliveries.
        "DRAWDOWN_WEBHOOK_ALLOW_PRIVATE": "true",
        "DRAWDOWN_RUN_WEBHOOKS_IN_SERVER": "false",
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [DRAWDOWN_BIN, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=folder,  # no stray .env is read, and nothing is written beside the tests
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"drawdown serve exited {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"drawdown serve did not start:\n{server.log()}")
        time.sleep(0.1)


class ServerPool:
    """One server process per database URL, started when first needed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.servers: dict[str, LiveServer] = {}

    def url_for(self, database_url: str) -> str:
        if database_url not in self.servers:
            self.servers[database_url] = start_server(database_url, self.folder)
        server = self.servers[database_url]
        assert server.process.poll() is None, server.log()
        return server.url

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def live_servers() -> Iterator[ServerPool]:
    with tempfile.TemporaryDirectory(prefix="drawdown-live-") as folder:
        pool = ServerPool(Path(folder))
        yield pool
        pool.stop()


@pytest.fixture
def live_url(database: Database, live_servers: ServerPool) -> str:
    """The URL of a real server process on the same database as ``database``."""
    return live_servers.url_for(database.url)


@pytest.fixture
def make_key(database: Database) -> Callable[..., str]:
    """``make_key(scope="full", mode="test")`` -> the secret of a new key in a new org."""

    def factory(scope: str = "full", mode: str = "test") -> str:
        with database.write() as conn:
            org = keys.create_organization(conn, "sdk test org")
            created = keys.create_key(conn, Tenant(org, mode), scope)  # type: ignore[arg-type]
        return created.secret

    return factory


@pytest.fixture
def api_key(make_key: Callable[..., str]) -> str:
    return make_key()


@pytest.fixture
def client(live_url: str, api_key: str) -> Iterator[drawdown.Client]:
    with drawdown.Client(api_key, base_url=live_url, backoff_s=0.05) as sdk:
        yield sdk


Run = Callable[..., Any]


@pytest.fixture
def run(live_url: str, api_key: str) -> Run:
    """``run("customers", "list", "--json")`` -> the CliRunner result, connected by env vars."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
        base = {"DRAWDOWN_API_KEY": api_key, "DRAWDOWN_BASE_URL": live_url, "COLUMNS": "200"}
        return runner.invoke(cli_app, list(args), env={**base, **(env or {})})

    return invoke


def ok_json(result: Any) -> Any:
    assert result.exit_code == 0, (result.output, result.stderr)
    return json.loads(result.stdout)


# A small real HTTP server whose behaviour a test scripts: it answers each request with
# the next planned response, recording what it was sent.


@dataclass
class Planned:
    status: int
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str = "application/json"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedApp:
    """An ASGI app: the n-th request gets ``plan[n]`` (the last entry repeats)."""

    def __init__(self, plan: list[Planned]) -> None:
        self.plan = plan
        self.seen: list[Seen] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.seen.append(Seen(scope["method"], scope["path"], headers, body))
        planned = self.plan[min(len(self.seen) - 1, len(self.plan) - 1)]
        if planned.delay_s:
            import asyncio

            await asyncio.sleep(planned.delay_s)
        raw_headers = [(b"content-type", planned.content_type.encode())]
        raw_headers += [(k.encode(), v.encode()) for k, v in planned.headers.items()]
        await send(
            {"type": "http.response.start", "status": planned.status, "headers": raw_headers}
        )
        await send({"type": "http.response.body", "body": planned.body})


class ThreadedServer:
    """Runs an ASGI app under uvicorn in a thread on a free 127.0.0.1 port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the scripted server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def scripted() -> Iterator[Callable[[list[Planned]], tuple[ScriptedApp, str]]]:
    """``scripted([Planned(503), Planned(201, body)])`` -> (app, url) of a running server."""
    running: list[ThreadedServer] = []

    def factory(plan: list[Planned]) -> tuple[ScriptedApp, str]:
        app = ScriptedApp(plan)
        server = ThreadedServer(app).__enter__()
        running.append(server)
        return app, server.url

    yield factory
    for server in running:
        server.__exit__()
