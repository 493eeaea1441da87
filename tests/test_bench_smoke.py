"""The benchmark harness still runs against this build: ``python -m bench`` end to end with
tiny sizes (it prints figures; this checks that every section produced its table, never a
time). PostgreSQL runs when DRAWDOWN_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "BENCH_CUSTOMERS": "20",
    "BENCH_FLOOR_EVENTS": "600",
    "BENCH_INGEST_EVENTS": "400",
    "BENCH_READ_S": "0.3",
    "BENCH_USAGE_EVENTS": "3000",
    "BENCH_WORKERS": "1",
    "BENCH_WEBHOOK_PROBES": "3",
}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bench_runs_every_section(backend: str) -> None:
    env = {**os.environ, **TINY}
    if backend == "postgresql":
        server = os.environ.get("DRAWDOWN_TEST_DATABASE_URL")
        if not server:
            pytest.skip("DRAWDOWN_TEST_DATABASE_URL is not set")
        env["DRAWDOWN_BENCH_DATABASE_URL"] = server
    done = subprocess.run(
        [sys.executable, "-m", "bench", backend],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for title in (
        "Storage floor",
        "Server memory",
        "Balance/access check",
        "HTTP ingest",
        "Webhook outbox cost, plain ingest",
        "Webhook outbox cost, event-heavy ingest",
        "Webhook delivery latency",
        "Usage query over 3,000",
    ):
        assert f"## {title}" in out, out
    assert "MISSING" not in out and "ERROR" not in out, out
    ingest = out.split("## HTTP ingest", 1)[1].split("##", 1)[0]
    # 4 configurations (batch 100/1000 x 1/4 clients), each with no failed request.
    rows = [line for line in ingest.splitlines() if line.startswith("| 1")]
    assert len(rows) == 4 and all(line.rstrip(" |").endswith("| 0") for line in rows), ingest
    usage = out.split("## Usage query", 1)[1]
    assert usage.count("customer") >= 5, usage
