"""schemathesis (pinned in pyproject.toml) over every operation of /openapi.json, against a
live server on each database: no server error, every response in its documented status,
content type, headers and schema, schema-violating requests refused, undeclared methods a
405 with the right ``Allow``. A fixed seed and a bounded example count keep the run
reproducible and within a couple of minutes per database; a failure prints schemathesis's
own report, with a curl line to reproduce each finding.

Accepted refusals of schema-valid requests (unknown ids, taken names, cross-field rules)
are listed, with why, in tests/schemathesis.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.keys import service as keys
from drawdown.tenancy import Tenant
from tests.sdk.conftest import ThreadedServer

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 16
MAX_EXAMPLES = 5
RUN_TIMEOUT_S = 900
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "unsupported_method",
        "allow_header_conformance",
    ]
)


@pytest.mark.slow
def test_the_whole_schema_holds_under_schemathesis(database: Database, tmp_path: Path) -> None:
    with database.write() as conn:
        org = keys.create_organization(conn, f"schemathesis {uuid.uuid4().hex[:8]}")
        secret = keys.create_key(conn, Tenant(org, "test"), "full").secret
    settings = Settings(database_url=database.url, run_clock_in_server=False)
    with ThreadedServer(create_app(settings, database)) as server:
        command = [
            str(Path(sys.prefix) / "bin" / "schemathesis"),
            *("--config-file", str(CONFIG), "run", f"{server.url}/openapi.json"),
            *("--header", f"Authorization: Bearer {secret}"),
            *("--checks", CHECKS, "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES)),
            *("--workers", "1", "--no-shrink", "--continue-on-failure"),
            *("--phases", "coverage,fuzzing,stateful", "--request-timeout", "30"),
            *("--report", "junit", "--report-dir", str(tmp_path)),
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=tmp_path
        )
    summary = result.stdout[result.stdout.find("SUMMARY") :]
    print(summary)  # operations, test cases, failures by kind (pytest -s shows it)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", summary)
    assert selected is not None, summary
    assert selected[1] == selected[2] == selected[3], summary  # every operation was tested
