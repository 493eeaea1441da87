"""OpenTelemetry, configured by OTEL_* only: with OTEL_TRACES_EXPORTER=console a server
process traces its requests (not the probes) and its SQL; without OTEL_* nothing is
traced. Run in a subprocess, since a tracer provider is process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

SCRIPT = """
import sys
from fastapi.testclient import TestClient
from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.migrate import upgrade
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant

url = sys.argv[1]
upgrade(url)
database = Database(url)
with database.write() as conn:
    org = keys.create_organization(conn, "otel org")
    secret = keys.create_key(conn, Tenant(org, "test"), "full").secret
settings = Settings(database_url=url, run_clock_in_server=False)
with TestClient(create_app(settings, database=database)) as client:
    client.get("/healthz")
    assert client.get("/v1/customers", headers={"Authorization": "Bearer " + secret}).status_code == 200
"""


def _run(tmp_path: Path, extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'otel.db'}"],
        env={**env, **extra_env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _spans(text: str) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    depth, start = 0, 0
    for index, char in enumerate(text):  # the console exporter prints indented JSON objects
        if char == "{":
            depth, start = depth + 1, index if depth == 0 else start
        elif char == "}":
            depth -= 1
            if depth == 0:
                spans.append(json.loads(text[start : index + 1]))
    return spans


def test_console_exporter_traces_requests_and_sql(tmp_path: Path) -> None:
    spans = _spans(
        _run(tmp_path, {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "dd-test"})
    )
    names = {str(span["name"]) for span in spans}
    assert "GET /v1/customers" in names
    assert not any("healthz" in name for name in names)
    assert any(span["attributes"].get("db.system") == "sqlite" for span in spans)
    assert all(span["resource"]["attributes"]["service.name"] == "dd-test" for span in spans)


def test_nothing_is_traced_without_otel_variables(tmp_path: Path) -> None:
    assert _spans(_run(tmp_path, {})) == []
