"""``drawdown keys`` for Blocklet app keys: generate a pair, register, list, revoke."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from drawdown.cli import app
from drawdown.keys import component_sig
from drawdown.keys import service as keys


def test_keypair_register_list_revoke(database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAWDOWN_DATABASE_URL", database.url)
    with database.write() as conn:
        keys.create_organization(conn, "only org")
    runner = CliRunner()
    pair = runner.invoke(app, ["keys", "blocklet-keypair"])
    assert pair.exit_code == 0, pair.output
    env = dict(line.split("=", 1) for line in pair.stdout.split())
    secret, public = env["BLOCKLET_APP_SK"], env["BLOCKLET_APP_PK"]
    # The SDK's layout: 0x + 32-byte seed + the 32-byte public key.
    assert len(secret) == 2 + 128 and secret[66:] == public[2:]
    assert component_sig.parse_public_key(public) == bytes.fromhex(public[2:])

    created = runner.invoke(app, ["keys", "create", "--blocklet-app-pk", public, "--name", "aigne"])
    assert created.exit_code == 0, created.output
    key_id = created.stdout.split()[4]
    again = runner.invoke(app, ["keys", "create", "--blocklet-app-pk", public])
    assert again.exit_code == 1 and "already registered" in again.output
    bad = runner.invoke(app, ["keys", "create", "--blocklet-app-pk", "0x1234"])
    assert bad.exit_code == 1 and "64 hex digits" in bad.output

    listed = runner.invoke(app, ["keys", "list"])
    line = next(row for row in listed.stdout.splitlines() if row.startswith(key_id))
    assert "active" in line and "aigne" in line and public in line

    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    listed = runner.invoke(app, ["keys", "list"])
    assert "revoked" in next(row for row in listed.stdout.splitlines() if row.startswith(key_id))
    with database.read() as conn:
        assert [k.revoked for k in keys.list_app_keys(conn)] == [True]
