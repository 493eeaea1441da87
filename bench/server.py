"""``drawdown serve`` as a subprocess with production settings, and what /proc says about
its processes (resident memory, CPU time)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

__all__ = ["Server", "free_port", "process_tree"]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    tree, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, []))
    return out


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Server:
    """One ``drawdown serve`` with ``workers`` processes on a free port."""

    def __init__(self, database_url: str, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.database_url = database_url
        # Closed in stop(): the log outlives this method.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="drawdown-bench-server-", suffix=".log"
        )
        env = {
            **os.environ,
            "DRAWDOWN_DATABASE_URL": database_url,
            "DRAWDOWN_PORT": str(self.port),
            "DRAWDOWN_WORKERS": str(workers),
            # Production defaults except the access log: one line per request to a pipe
            # would be measured too, and production would ship it elsewhere.
            # BENCH_LOG_LEVEL=info measures it (bench.ab: BENCH_AB_B="BENCH_LOG_LEVEL=info").
            "DRAWDOWN_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
        }
        command = [str(Path(sys.executable).parent / "drawdown"), "serve"]
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"drawdown serve exited:\n{self.log_text()}")
            try:
                up = httpx.get(self.url + "/healthz", timeout=1).status_code == 200
                # Every worker must be up, not just the first one to bind.
                if up and len(self.worker_pids()) >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"drawdown serve did not start:\n{self.log_text()}")

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (the master itself when workers == 1)."""
        if self.workers == 1:
            return [self.process.pid]
        return [
            pid
            for pid in self.pids()[1:]
            if "multiprocessing" in _cmdline(pid) and "resource_tracker" not in _cmdline(pid)
        ]

    def rss_mib(self) -> tuple[float, list[float]]:
        """(all processes, each serving process) resident memory in MiB."""
        total = sum(_rss_kib(pid) for pid in self.pids()) / 1024
        return total, [_rss_kib(pid) / 1024 for pid in self.worker_pids()]

    def cpu_s(self) -> float:
        return sum(_cpu_s(pid) for pid in self.pids())

    def worker_cpu_s(self) -> list[float]:
        return [_cpu_s(pid) for pid in self.worker_pids()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session, by its id
                self.process.wait()
        self.log.close()
