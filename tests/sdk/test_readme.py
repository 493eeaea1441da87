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
    blocks: list[str] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
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


def curl_quickstart() -> str:
    section = README.read_text().split("## Quickstart with curl", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the curl quickstart has one block"
    return blocks[0]


def test_readme_curl_quickstart_runs(live_url: str, api_key: str, tmp_path: Path) -> None:
    script = curl_quickstart()
    assert "export KEY=dd_test_..." in script
    script = script.replace("export KEY=dd_test_...", f"export KEY={api_key}")
    script = script.replace("export API=http://127.0.0.1:8000", f"export API={live_url}")
    # Every command but the browser one, each output on its own line.
    lines = [line for line in script.splitlines() if not line.startswith("open ")]
    script = "set -euo pipefail\n" + "\n".join(lines).replace("\ncurl ", "\necho\ncurl ")
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outputs = [line for line in result.stdout.splitlines() if line]
    assert '"external_id":"user_123"' in outputs[0]
    assert '"event_name":"llm_call"' in outputs[1]
    assert '"amount":"10.000"' in outputs[2] and '"status":"active"' in outputs[2]
    assert outputs[3] == '{"inserted":2,"duplicates":0}'
    assert '"available":"8.000"' in outputs[4] and '"debt":"0.000"' in outputs[4]
    assert '"has_access":true' in outputs[5]
    assert outputs[6].count('"type":"consumption"') == 2 and '"type":"grant"' in outputs[6]
    assert '"total":"2000"' in outputs[7]
    assert outputs[8].count('"object":"event"') == 2
    assert '"plan":"pro"' in outputs[9]
    assert '"external_id":"user_123"' in outputs[10]
    assert outputs[11] == '{"status":"ok"}'
