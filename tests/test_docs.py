"""Every code example in README.md and docs/*.md runs, in order, against one live server on
one fresh database (the way Datasette checks its documentation).

The convention, for anyone writing docs:

- Fenced blocks tagged ``sh``, ``bash`` or ``shell`` run with ``bash -euo pipefail``;
  blocks tagged ``python`` run with the project's Python. Each block is its own process.
  Any other tag (``json``, ``text``, ``ts``, none...) is shown, never run: use it for
  output, wire shapes and illustrations.
- ``curl`` inside a block fails on a 4xx/5xx answer (``--fail-with-body``).
- To keep a block from running, put ``<!-- docs-test: skip (why) -->`` on the line right
  before its fence. Only for what cannot run here: ``make run``, long-running servers,
  another host.
- Each block gets ``KEY``/``DRAWDOWN_API_KEY`` (a full-scope test-mode key; the literal
  ``dd_test_...`` is replaced by it), ``API``/``DRAWDOWN_BASE_URL`` (the server; the
  literal ``http://127.0.0.1:8000`` is replaced by its URL),
  ``DRAWDOWN_DATABASE_URL`` (its database), ``PATH`` starting with the venv's bin, and a
  working folder holding ``.venv`` (a link to the project's venv).
- README.md runs first, then docs/*.md by file name, all on the same data: examples use
  names (external ids, event names, Idempotency-Keys, identifiers) no other example uses,
  and relative dates only (``date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNERS = {"sh": "bash", "bash": "bash", "shell": "bash", "python": "python"}
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
BLOCK_TIMEOUT_S = 240  # the CLI block starts Python a dozen times
STARTUP_WAIT_S = 60
SHELL_PRELUDE = """\
curl() { command curl --fail-with-body -sS "$@"; }
export -f curl
"""


@dataclass(frozen=True)
class Example:
    path: Path
    line: int
    language: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def extract(path: Path, *, skipped: bool = False) -> Iterator[Example]:
    """The runnable fenced blocks of one Markdown file, in order (with ``skipped``, also the
    ones marked not to run)."""
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1  # the closing fence
        language = info.split()[0].lower() if info else ""
        before = next((line for line in reversed(lines[:start]) if line.strip()), "")
        if language in RUNNERS and (skipped or not SKIP.search(before)):
            yield Example(path, start + 1, language, "\n".join(body) + "\n")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``drawdown serve`` on a fresh SQLite database, as the README starts it; its first
    output is the test-mode key the examples use."""
    folder = tmp_path_factory.mktemp("docs")
    (folder / ".venv").symlink_to(Path(sys.prefix))
    port = _free_port()
    env = {
        **os.environ,
        "DRAWDOWN_DATABASE_URL": f"sqlite:///{folder / 'docs.db'}",
        "DRAWDOWN_PORT": str(port),
        "DRAWDOWN_HOST": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = folder / "server.log"
    drawdown = Path(sys.prefix) / "bin" / "drawdown"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(drawdown), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_WAIT_S
        while True:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            try:
                if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        key = re.search(r"dd_test_[A-Za-z0-9_-]+", log_path.read_text())
        assert key is not None, log_path.read_text()
        yield {
            **env,
            "KEY": key.group(),
            "DRAWDOWN_API_KEY": key.group(),
            "API": base_url,
            "DRAWDOWN_BASE_URL": base_url,
            "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(folder),
            "DOCS_WORKDIR": str(folder),
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(example: Example, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = example.code.replace("dd_test_...", env["KEY"])
    code = code.replace("http://127.0.0.1:8000", env["API"])
    if RUNNERS[example.language] == "bash":
        command = ["bash", "-euo", "pipefail", "-c", SHELL_PRELUDE + code]
    else:
        command = [sys.executable, "-c", code]
    return subprocess.run(
        command,
        env=env,
        cwd=env["DOCS_WORKDIR"],
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )


def test_the_extractor_follows_the_convention(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "text\n```sh\necho one\n```\n<!-- docs-test: skip (a server) -->\n```sh\nmake run\n```\n"
        "```json\n{}\n```\n````python\nprint('```')\n````\n```\nplain\n```\n"
    )
    found = [(e.language, e.code, e.line) for e in extract(doc)]
    assert found == [("sh", "echo one\n", 2), ("python", "print('```')\n", 12)]


# ``drawdown`` as a command (not ``.venv/bin/drawdown``, not inside a word or a path).
BARE_DRAWDOWN = re.compile(r"(?:^|[\s;&|(])drawdown(?=\s|$)")
ACTIVATES = re.compile(r"^\s*(?:source|\.)\s+\.venv/bin/activate\b", re.MULTILINE)


def test_shell_examples_find_drawdown_in_the_virtualenv() -> None:
    """``make run`` puts ``drawdown`` in .venv/bin, not on PATH: a shell example calls
    ``.venv/bin/drawdown`` or activates the virtualenv first. (The runner below puts the
    venv on PATH, so it cannot see this.)"""
    bare = []
    for path in documents():
        for example in extract(path, skipped=True):
            if example.language == "python" or ACTIVATES.search(example.code):
                continue
            for line in example.code.splitlines():
                command = line.split(" #", 1)[0]
                if not command.lstrip().startswith("#") and BARE_DRAWDOWN.search(command):
                    bare.append(f"{example.where}: {line.strip()}")
    assert not bare, "\n".join(bare)


# Citations of the design document users do not have: its name, a "rule N" or a
# "section N" (spelled in pieces so this file does not match itself).
CITATION = re.compile("DES" + r"IGN\b|\b[Rr]ules?(?:\s|\s*#\s*)+\d|\bsection\s+\d")
CITING_SUFFIXES = {".py", ".md", ".mjs", ".html", ".j2", ".toml", ".txt", ".yaml", ".yml"}


def test_nothing_cites_the_design_document() -> None:
    """Code, comments, docstrings and docs state a rule itself, never a numbered rule of a
    document that is not in the repository."""
    files = [ROOT / "README.md"]
    for folder in ("src", "docs", "tests", "bench"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in CITING_SUFFIXES]
    found = []
    for path in files:
        parts = path.relative_to(ROOT).parts
        if "node_modules" in parts or any(part.startswith(".") for part in parts):
            continue  # installed packages (tests/js/node_modules, tests/.polar-sdk-*)
        text = path.read_text(errors="replace")
        for match in CITATION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}: {match.group()!r}")
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_every_example_in_the_docs_runs_in_order(server: dict[str, str]) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        reason = "the examples need bash and curl"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    examples = [example for path in documents() for example in extract(path)]
    assert len(examples) >= 5, "the extractor found almost nothing: check the fences"
    for example in examples:
        result = run(example, server)
        assert result.returncode == 0, (
            f"{example.where} ({example.language}) exited {result.returncode}\n"
            f"--- code ---\n{example.code}--- stdout ---\n{result.stdout[-3000:]}\n"
            f"--- stderr ---\n{result.stderr[-3000:]}"
        )
