"""A live drawdown server (a uvicorn subprocess on a free 127.0.0.1 port) per database
backend, shared by the tests of a session, and clients of Polar's official SDKs bound to a
fresh organization's API key.

The server reads the same database the ``database`` fixture wipes before each test; every
test makes its own organization and key, so tests never see each other's data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant

STARTUP_WAIT_S = 60.0


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def polar_url(self) -> str:
        return self.url + "/polar"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


@dataclass(frozen=True)
class PolarKey:
    secret: str
    tenant: Tenant


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(database_url: str, log_path: Path) -> LiveServer:
    port = _free_port()
    env = {
        **os.environ,
        "DRAWDOWN_DATABASE_URL": database_url,
        "DRAWDOWN_LOG_LEVEL": "warning",
    }
    command = [
        sys.executable, "-m", "uvicorn", "drawdown.app:create_app_from_env", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + STARTUP_WAIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"drawdown server exited at start-up:\n{server.log()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"drawdown server did not answer in {STARTUP_WAIT_S} s:\n{server.log()}")


@pytest.fixture(scope="session")
def _live_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LiveServer]]:
    servers: dict[str, LiveServer] = {}
    yield servers
    for server in servers.values():
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def live_server(
    database: Database,
    _live_servers: dict[str, LiveServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> LiveServer:
    """The server for this test's backend, started on first use."""
    url = database.engine.url.render_as_string(hide_password=False)
    server = _live_servers.get(url)
    if server is None or server.process.poll() is not None:
        log_path = tmp_path_factory.mktemp("server") / "server.log"
        server = _live_servers[url] = _start(url, log_path)
    return server


@pytest.fixture
def polar_key(database: Database) -> PolarKey:
    """A full-scope test-mode key of a new organization."""
    with database.write() as conn:
        org = keys.create_organization(conn, f"polar sdk {uuid.uuid4().hex[:8]}")
        created = keys.create_key(conn, Tenant(org, "test"), "full")
    return PolarKey(created.secret, created.tenant)
