"""First use of the command line: one line for each thing that is wrong (no database,
missing tables, an unreachable database or server), and the long-running commands stop
cleanly on SIGTERM and SIGINT, also when started in the background (a non-interactive
shell starts background jobs with SIGINT ignored)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drawdown.db.engine import Database

DRAWDOWN = str(Path(sys.prefix) / "bin" / "drawdown")


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DRAWDOWN, *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_keys_outside_a_project_folder_say_there_is_no_database(tmp_path: Path) -> None:
    env = {"DRAWDOWN_DATABASE_URL": "sqlite:///drawdown.db"}
    line = one_line(run("keys", "list", cwd=tmp_path, **env))
    assert line.startswith(f"drawdown: no database at {tmp_path / 'drawdown.db'}")
    assert "drawdown migrate" in line
    assert not (tmp_path / "drawdown.db").exists()  # no empty database left behind


def test_missing_tables_name_the_command_that_creates_them(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()
    line = one_line(run("keys", "list", cwd=tmp_path, DRAWDOWN_DATABASE_URL="sqlite:///empty.db"))
    assert line == (
        "drawdown: the database sqlite:///empty.db has no drawdown tables: run `drawdown migrate`"
    )


def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    server = os.environ.get("DRAWDOWN_TEST_DATABASE_URL")
    if not server:
        pytest.skip("DRAWDOWN_TEST_DATABASE_URL is not set")
    url = server.rsplit("/", 1)[0] + "/drawdown_no_such_database"
    for command in (["migrate"], ["keys", "list"]):
        line = one_line(run(*command, cwd=tmp_path, DRAWDOWN_DATABASE_URL=url))
        assert line.startswith("drawdown: cannot open the database") and "does not exist" in line


def test_an_unreachable_server_asks_whether_it_runs(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    result = run(
        "customers", "list", cwd=tmp_path, DRAWDOWN_API_KEY="dd_test_x",
        DRAWDOWN_BASE_URL=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    assert result.returncode == 1 and "is `drawdown serve` running?" in result.stderr
    assert "Traceback" not in result.stderr


def _background(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start as ``cmd &`` in a script would: SIGINT ignored."""
    return subprocess.Popen(
        [DRAWDOWN, *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )


def _wait_for(process: subprocess.Popen[str], text: str, timeout_s: float = 60) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout_s
    while text not in seen and time.monotonic() < deadline and process.poll() is None:
        seen += process.stdout.readline()
    assert text in seen, seen
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("command", ["worker", "serve"])
def test_long_running_commands_stop_cleanly_on_a_signal(
    database: Database, tmp_path: Path, command: str, signum: int
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {
        "DRAWDOWN_DATABASE_URL": database.url,
        "DRAWDOWN_CLOCK_INTERVAL_S": "0.2",
        "DRAWDOWN_PORT": port,
        "PYTHONUNBUFFERED": "1",
    }
    process = _background(command, cwd=tmp_path, env=env)
    try:
        _wait_for(process, "clock running" if command == "worker" else "Uvicorn running")
        process.send_signal(signum)
        rest = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if command == "serve":
        # uvicorn shuts down gracefully, then re-raises the signal it caught, so the exit
        # status tells the parent which signal stopped it (-15 for SIGTERM).
        assert process.returncode in (0, -signum), rest
        assert "Application shutdown complete" in rest and "Finished server process" in rest
    else:
        assert process.returncode == 0, rest
        assert "clock stopped" in rest
    assert "Traceback" not in rest
