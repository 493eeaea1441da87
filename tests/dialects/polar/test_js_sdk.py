"""Official TypeScript SDKs (pinned by tests/js/package-lock.json) run by Node against the
Polar dialect of a live drawdown server: Polar's ``@polar-sh/sdk`` 0.x (tests/js/polar_flows.mjs)
and 1.x (its dated ``createPolar`` client, tests/js/polar_v1_flows.mjs, same flows), and
Spaire's ``@spaire/sdk`` (the seed flow, tests/js/spaire_flow.mjs). The scripts assert what
the SDK returns; this side checks the server's state through the native API."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dialects.polar.conftest import LiveServer, PolarKey

JS_DIR = Path(__file__).resolve().parents[2] / "js"
NODE_TIMEOUT_S = 120
NPM_TIMEOUT_S = 600


def _installed(modules: Path) -> bool:
    """Every package.json dependency is in node_modules (an older checkout may lack one)."""
    wanted = json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    return all((modules / name / "package.json").exists() for name in wanted)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """``npm ci`` once when a pinned package is missing (under a file lock: xdist workers)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is not installed: the TypeScript SDK tests need Node (.ci/run installs it)"
            )
    modules = JS_DIR / "node_modules"
    with (JS_DIR / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed(modules):
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=JS_DIR, check=True, timeout=NPM_TIMEOUT_S,
            )  # fmt: skip
    return modules


def run_flow(
    flow: str, server: LiveServer, key: PolarKey, script: str = "polar_flows.mjs"
) -> dict[str, Any]:
    env = {
        **os.environ,
        "POLAR_SERVER_URL": server.polar_url,
        "POLAR_ACCESS_TOKEN": key.secret,
    }
    done = subprocess.run(
        ["node", script, flow],
        cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, f"node flow {flow} failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def native(server: LiveServer, key: PolarKey, path: str) -> Any:
    response = httpx.get(server.url + path, headers={"Authorization": f"Bearer {key.secret}"})
    return response


POLAR_SCRIPTS = pytest.mark.parametrize(
    "script", ["polar_flows.mjs", "polar_v1_flows.mjs"], ids=["sdk-0.x", "sdk-1.x"]
)


@POLAR_SCRIPTS
def test_customers_flow(
    node_modules: Path, live_server: LiveServer, polar_key: PolarKey, script: str
) -> None:
    result = run_flow("customers", live_server, polar_key, script)
    found = native(live_server, polar_key, "/v1/customers/external/user_123").json()
    assert found["id"] == "cus_" + result["customer_id"].replace("-", "")
    assert found["name"] == "Jane Doe" and found["metadata"] == {"plan": "pro"}
    listed = native(live_server, polar_key, "/v1/customers?limit=100").json()["data"]
    assert len(listed) == result["created"] - len(result["deleted"])
    for deleted in result["deleted"]:
        assert native(live_server, polar_key, f"/v1/customers/{deleted}").status_code == 404


@POLAR_SCRIPTS
def test_metering_flow(
    node_modules: Path, live_server: LiveServer, polar_key: PolarKey, script: str
) -> None:
    """Polar's docs' example: a negative event grants 10 credits; usage draws them."""
    result = run_flow("metering", live_server, polar_key, script)
    assert result["balance"] == 5
    balances = native(live_server, polar_key, "/v1/customers/external/user_123/balances").json()
    assert [(b["available"], b["debt"]) for b in balances["data"]] == [("5.00", "0.00")]
    meter = native(live_server, polar_key, "/v1/meters/api_usage").json()
    assert meter["id"] == "mtr_" + result["meter_id"].replace("-", "")
    entries = native(live_server, polar_key, "/v1/credit-transactions?limit=100").json()["data"]
    assert sorted(e["type"] for e in entries) == ["consumption", "consumption", "grant"]


def test_seed_flow_with_spaire_sdk(
    node_modules: Path, live_server: LiveServer, polar_key: PolarKey
) -> None:
    """Spaire's SDK validates responses: avatar_url must be a string, not null."""
    result = run_flow("seed", live_server, polar_key, "spaire_flow.mjs")
    assert result["balance"] == 6
    found = native(live_server, polar_key, "/v1/customers/external/spaire_1").json()
    assert found["id"] == "cus_" + result["customer_id"].replace("-", "")
    balances = native(live_server, polar_key, "/v1/customers/external/spaire_1/balances").json()
    assert [b["available"] for b in balances["data"]] == ["6.00"]
    meter = native(live_server, polar_key, "/v1/meters/api_usage").json()
    assert meter["id"] == "mtr_" + result["meter_id"].replace("-", "")
