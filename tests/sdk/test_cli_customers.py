"""The operator CLI against a real server process: customers, errors, --help."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import drawdown
from drawdown.cli import app
from drawdown.db.engine import Database
from drawdown.keys import service as keys
from tests.sdk.conftest import Run, ok_json


def test_customers_create_get_list(run: Run) -> None:
    created = ok_json(
        run("customers", "create", "--external-id", "u1", "--email", "ann@example.com",
            "--name", "Ann", "-m", "plan=pro", "-m", "seats=3", "--json")
    )  # fmt: skip
    assert created["id"].startswith("cus_") and created["metadata"] == {"plan": "pro", "seats": "3"}
    assert ok_json(run("customers", "get", created["id"], "--json")) == created
    assert ok_json(run("customers", "get", "u1", "--external", "--json")) == created

    for i in range(3):
        run("customers", "create", "--name", f"Other {i}")
    listed = ok_json(run("customers", "list", "--json"))
    assert len(listed) == 4 and listed[-1]["id"] == created["id"]
    assert len(ok_json(run("customers", "list", "--limit", "2", "--json"))) == 2
    assert len(ok_json(run("customers", "list", "--limit", "1", "--all", "--json"))) == 4
    assert [c["id"] for c in ok_json(run("customers", "list", "-q", "Ann", "--json"))] == [
        created["id"]
    ]

    table = run("customers", "list")
    assert (
        table.exit_code == 0 and created["id"] in table.stdout and "ann@example.com" in table.stdout
    )
    shown = run("customers", "get", created["id"])
    assert shown.exit_code == 0 and "external_id" in shown.stdout and "u1" in shown.stdout


def test_create_is_idempotent_with_a_key(run: Run) -> None:
    first = ok_json(
        run("customers", "create", "--name", "Once", "--idempotency-key", "k1", "--json")
    )
    again = ok_json(
        run("customers", "create", "--name", "Once", "--idempotency-key", "k1", "--json")
    )
    assert first == again and len(ok_json(run("customers", "list", "--json"))) == 1


def test_errors_are_one_line_with_fields_and_exit_1(run: Run) -> None:
    missing = run("customers", "get", "cus_0000")
    assert missing.exit_code == 1 and "404 not_found" in missing.stderr and missing.stdout == ""
    invalid = run("customers", "create", "--email", "nope")
    assert invalid.exit_code == 1 and "422 validation_error" in invalid.stderr
    assert "body.email:" in invalid.stderr
    bad_meta = run("customers", "create", "-m", "novalue")
    assert bad_meta.exit_code == 2 and "KEY=VALUE" in bad_meta.stderr


def test_connection_options_and_env(run: Run, live_url: str, api_key: str) -> None:
    no_key = run("customers", "list", env={"DRAWDOWN_API_KEY": ""})
    assert no_key.exit_code == 2 and "DRAWDOWN_API_KEY" in no_key.stderr
    flags = run("customers", "list", "--api-key", api_key, "--base-url", live_url, "--json",
                env={"DRAWDOWN_API_KEY": "", "DRAWDOWN_BASE_URL": "http://127.0.0.1:9"})  # fmt: skip
    assert flags.exit_code == 0 and json.loads(flags.stdout) == []
    wrong_key = run("customers", "list", "--api-key", "dd_test_wrong")
    assert wrong_key.exit_code == 1 and "401" in wrong_key.stderr
    unreachable = run("customers", "list", env={"DRAWDOWN_BASE_URL": "http://127.0.0.1:9"})
    assert unreachable.exit_code == 1 and "ConnectError" in unreachable.stderr


COMMANDS = [
    [], ["serve"], ["migrate"], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"],
    ["customers"], ["customers", "create"], ["customers", "get"], ["customers", "list"],
    ["meters"], ["meters", "create"], ["meters", "list"], ["meters", "usage"],
    ["grants"], ["grants", "create"], ["grants", "list"], ["grants", "void"],
    ["balance"], ["ledger"], ["ingest"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "drawdown")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) > 3  # a description, not just a usage line


def test_migrate_and_keys_commands(database: Database, live_url: str) -> None:
    runner = CliRunner()
    env = {"DRAWDOWN_DATABASE_URL": database.url, "COLUMNS": "200"}
    migrated = runner.invoke(app, ["migrate"], env=env)
    assert migrated.exit_code == 0 and "database is up to date" in migrated.stdout
    with database.write() as conn:
        org = keys.create_organization(conn, "cli org")

    created = runner.invoke(
        app,
        ["keys", "create", "--scope", "read", "--name", "cli-read", "--organization", org.hex],
        env=env,
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("dd_test_")
    with drawdown.Client(secret, base_url=live_url) as client:
        assert client.customers.list().data == []  # the new key works on the server
        with pytest.raises(drawdown.PermissionDeniedError):
            client.customers.create(name="read keys cannot")

    listed = runner.invoke(app, ["keys", "list"], env=env)
    [row] = [line for line in listed.stdout.splitlines() if "cli-read" in line]
    key_id = row.split()[0]
    assert "active" in row and secret not in listed.stdout
    revoked = runner.invoke(app, ["keys", "revoke", key_id], env=env)
    assert revoked.exit_code == 0 and f"revoked {key_id}" in revoked.stdout
    assert "revoked" in next(
        line
        for line in runner.invoke(app, ["keys", "list"], env=env).stdout.splitlines()
        if key_id in line
    )
    again = runner.invoke(app, ["keys", "revoke", key_id], env=env)
    assert again.exit_code == 1 and "no active API key" in again.stderr
    bad_scope = runner.invoke(app, ["keys", "create", "--scope", "god"], env=env)
    assert bad_scope.exit_code == 2
