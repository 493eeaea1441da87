"""After an unexpected error the server still answers in problem+json and keeps the
connection open: the client's next request on it is served, not reset."""

from __future__ import annotations

import http.client
from typing import Any

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from tests.sdk.conftest import ThreadedServer


def test_an_unexpected_error_is_a_500_problem_and_the_connection_stays_open(
    database: Database,
) -> None:
    app = create_app(Settings(database_url=database.url, run_clock_in_server=False), database)

    @app.get("/test-only/boom", include_in_schema=False)
    def boom() -> Any:
        raise RuntimeError("a bug")

    with ThreadedServer(app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/test-only/boom")
        first = conn.getresponse()
        assert first.status == 500
        assert first.getheader("content-type") == "application/problem+json"
        assert b'"code":"internal_error"' in first.read()
        assert first.getheader("connection") != "close"
        sock = conn.sock
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        assert (second.status, second.read()) == (200, b'{"status":"ok"}')
        assert conn.sock is sock  # the same connection served both
        conn.close()
