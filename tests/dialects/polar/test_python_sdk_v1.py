"""Polar's 1.x Python SDK (``polar-sdk`` 1.0.2, ``from polar.v2026_10 import Polar``) against
a live drawdown server. It is the same PyPI distribution as the 0.32 SDK the other tests
import, so it is installed (once, under a file lock) into its own folder and run in a
subprocess: polar_v1_flow.py holds the flow and its assertions."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dialects.polar.conftest import LiveServer, PolarKey

SDK_VERSION = "1.0.2"
HERE = Path(__file__).resolve().parent
SDK_DIR = HERE.parents[1] / f".polar-sdk-{SDK_VERSION}"
TIMEOUT_S = 300


@pytest.fixture(scope="session")
def polar_v1_path() -> Path:
    with (HERE.parents[1] / ".polar-sdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (SDK_DIR / "polar" / "v2026_10").is_dir():
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "--target", str(SDK_DIR), f"polar-sdk=={SDK_VERSION}"],
                check=True, timeout=TIMEOUT_S,
            )  # fmt: skip
    return SDK_DIR


def test_metering_flow_with_the_1x_sdk(
    polar_v1_path: Path, live_server: LiveServer, polar_key: PolarKey
) -> None:
    env = {**os.environ, "PYTHONPATH": str(polar_v1_path)}
    done = subprocess.run(
        [sys.executable, str(HERE / "polar_v1_flow.py"), live_server.polar_url, polar_key.secret],
        env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert done.stdout.strip().endswith("ok")
