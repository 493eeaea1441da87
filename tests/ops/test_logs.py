"""Structured logs: a request id on every response and every line, one JSON line per request
with the route template, one per background pass, readable lines on a terminal, and no API
key, webhook secret or metrics token ever written."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from drawdown.db.engine import Database
from drawdown.ops.logs import Formatter, mask_secrets
from tests.sdk.conftest import start_server


def test_request_id_is_echoed_or_made_up(api: Any) -> None:
    sent = api.get("/v1/customers", headers={"X-Request-ID": "req-42.abc"})
    assert sent.status_code == 200 and sent.headers["x-request-id"] == "req-42.abc"
    made = api.get("/v1/customers")
    assert len(made.headers["x-request-id"]) == 32
    # A header that could break a log line or a parser is replaced, not echoed.
    hostile = api.get("/v1/customers", headers={"X-Request-ID": 'a b"{}' + "x" * 200})
    assert hostile.headers["x-request-id"] != made.headers["x-request-id"]
    assert len(hostile.headers["x-request-id"]) == 32
    # Errors and unauthenticated calls carry one too.
    assert api.get("/v1/nope").headers["x-request-id"]
    anonymous = api.client.get("/v1/customers", headers={"X-Request-ID": "anon-1"})
    assert anonymous.status_code == 401 and anonymous.headers["x-request-id"] == "anon-1"


def _lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_text().splitlines():
        if raw.startswith("{"):
            out.append(json.loads(raw))
    return out


def test_json_lines_per_request_and_job_without_secrets(
    database: Database, make_key: Any, tmp_path: Path
) -> None:
    secret = make_key()
    webhook_secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    token = "metrics-token-" + os.urandom(8).hex()
    env = {
        "DRAWDOWN_LOG_LEVEL": "debug",
        "DRAWDOWN_LOG_FORMAT": "json",
        "DRAWDOWN_CLOCK_INTERVAL_S": "0.2",
        "DRAWDOWN_METRICS_TOKEN": token,
    }
    server = start_server(database.url, tmp_path, env)
    try:
        headers = {"Authorization": f"Bearer {secret}", "X-Request-ID": "req-logs-1"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            customer = client.post("/v1/customers", json={"external_id": "log-1"}).json()
            client.get(f"/v1/customers/{customer['id']}")
            currency = client.post(
                "/v1/currencies", json={"name": "Cr", "symbol": "cr", "decimals": 0}
            ).json()
            grant = client.post(
                "/v1/credit-grants",
                json={"customer_id": customer["id"], "currency_id": currency["id"], "amount": "5"},
            )
            assert grant.status_code == 201, grant.text
            # Secrets where a careless log line would pick them up: path, query, body.
            client.get(f"/v1/customers/{secret}")
            client.get("/v1/customers", params={"external_id": webhook_secret})
            client.post("/v1/customers", json={"external_id": webhook_secret, "x": secret})
            client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            httpx.get(server.url + "/v1/customers", headers={"Authorization": f"Bearer {secret}x"})
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and '"job":"clock"' not in server.log_path.read_text():
            time.sleep(0.1)
    finally:
        server.stop()
    text = server.log_path.read_text()
    for hidden in (secret, secret[8:], webhook_secret, webhook_secret[6:], token):
        assert hidden not in text, f"a secret reached the log: {hidden[:10]}..."
    lines = _lines(server.log_path)
    assert lines and all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    mine = [line for line in lines if line.get("request_id") == "req-logs-1"]
    routes = {(line["method"], line["route"], line["status"]) for line in mine if "route" in line}
    assert ("GET", "/v1/customers/{customer_id}", 200) in routes
    assert ("POST", "/v1/customers", 201) in routes
    keyed = [line for line in mine if line.get("route", "/metrics") != "/metrics"]
    assert keyed and all(line["api_key_id"].startswith("key_") for line in keyed)
    per_request = [line for line in lines if line["logger"] == "drawdown.request"]
    assert all(isinstance(line["duration_ms"], float | int) for line in per_request)
    # One line per clock pass (idle passes at debug). Which process books the grant's expiry
    # is not this test's business: another server on the same database may run a clock too.
    jobs = [line for line in lines if line.get("job") == "clock"]
    assert jobs and all(line["logger"] == "drawdown.clock" for line in jobs)
    assert all(isinstance(line["accounts"], int) and line["job_id"] for line in jobs)
    assert len({line["job_id"] for line in jobs}) == len(jobs)


def test_console_lines_on_a_terminal() -> None:
    leader, follower = pty.openpty()
    probe = "from drawdown.ops.logs import Formatter; print(Formatter().json)"
    env = {k: v for k, v in os.environ.items() if k != "DRAWDOWN_LOG_FORMAT"}
    on_tty = subprocess.run(
        [sys.executable, "-c", probe], stderr=follower, capture_output=False, stdout=subprocess.PIPE,
        env=env, timeout=30, check=True,
    )  # fmt: skip
    os.close(follower)
    os.close(leader)
    piped = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, env=env, timeout=30, check=True
    )
    assert on_tty.stdout.strip() == b"False" and piped.stdout.strip() == b"True"
    import logging

    record = logging.LogRecord("drawdown.request", logging.INFO, "", 0, "GET / 200", None, None)
    record.route = "/v1/customers"
    line = Formatter("console").format(record)
    assert "GET / 200" in line and "route=/v1/customers" in line and not line.startswith("{")


def test_mask_secrets() -> None:
    assert (
        mask_secrets("key dd_live_abcdefghijkl and whsec_MfKQ9r8G")
        == "key dd_live_*** and whsec_***"
    )
    assert mask_secrets("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
