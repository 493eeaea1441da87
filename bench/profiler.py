"""Optional sampling profiles of the server's processes (``BENCH_PROFILE=1``): py-spy
attaches to each serving process for the length of one measured load and writes collapsed
stacks to bench/profiles/, with a summary of where the time went (self and inclusive)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PROFILE_DIR", "profiled", "summarise"]

PROFILE_DIR = Path(__file__).parent / "profiles"
_LINE = re.compile(r":\d+\)$")


@contextmanager
def profiled(enabled: bool, pids: list[int], name: str) -> Iterator[None]:
    """Sample ``pids`` (100 Hz, without pausing them) while the block runs."""
    if not enabled:
        yield
        return
    PROFILE_DIR.mkdir(exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    outputs = [PROFILE_DIR / f"{name}-{pid}.txt" for pid in pids]
    recorders = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid, output in zip(pids, outputs, strict=True)
    ]
    time.sleep(1.0)  # attached before the load starts
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        for recorder in recorders:
            recorder.wait(timeout=60)
        summary = summarise([o for o in outputs if o.exists()])
        (PROFILE_DIR / f"{name}.summary.txt").write_text(summary)


def _frame(text: str) -> str:
    """``func (/long/path/pkg/sub/module.py:12)`` -> ``func (pkg/sub/module.py)``."""
    name, _, where = _LINE.sub(")", text).partition(" (")
    parts = where.rstrip(")").split("/")
    return f"{name} ({'/'.join(parts[-3:])})"


# Leaf frames of threads that wait for work (the thread pool). The event loop's own frame
# (Runner.run) stays: uvloop and httptools do their work in C below it.
_IDLE_LEAVES = ("Condition.wait (", "WorkerThread.run (")


def summarise(paths: list[Path], top: int = 30) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            frames = [_frame(frame) for frame in stack.split(";")]
            if frames[-1].startswith(_IDLE_LEAVES):
                idle += count
                continue
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    total = max(total, 1)
    lines = [
        f"{total} busy samples over {len(paths)} processes ({idle} idle thread-pool samples "
        "left out); percentages of busy samples",
        "",
        "self time:",
    ]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive (drawdown, sqlalchemy, psycopg, fastapi, starlette, pydantic):"]
    wanted = ("drawdown/", "sqlalchemy/", "psycopg/", "fastapi/", "starlette/", "pydantic")
    ranked = [(f, n) for f, n in inclusive.most_common() if any(w in f for w in wanted)]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in ranked[:top]]
    return "\n".join(lines) + "\n"
