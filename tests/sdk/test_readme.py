"""The README's Python SDK example runs, as written, against a real server (both databases)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def sdk_example() -> str:
    section = README.read_text().split("## Python SDK", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python SDK section has one example"
    return blocks[0]


def test_readme_seed_flow_runs(live_url: str, api_key: str, tmp_path: Path) -> None:
    env = {**os.environ, "DRAWDOWN_API_KEY": api_key, "DRAWDOWN_BASE_URL": live_url}
    result = subprocess.run(
        [sys.executable, "-c", sdk_example()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "IngestTotals(events=4, inserted=4, duplicates=0, batches=1)"
    assert lines[1] == "available 4.000 debt 0.000"
    assert lines[2:7] == [
        "5 consumption -1.500 4.000",
        "4 consumption -1.500 5.500",
        "3 consumption -1.500 7.000",
        "2 consumption -1.500 8.500",
        "1 grant 10.000 10.000",
    ]
    assert lines[7:] == ["True"]
