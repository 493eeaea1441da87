"""The operator CLI against a real server process: meters, grants, balance, ledger, ingest,
and the worker command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import drawdown
from drawdown.db.engine import Database
from tests.sdk.conftest import DRAWDOWN_BIN, Run, ok_json


def _seed(client: drawdown.Client) -> tuple[drawdown.Customer, drawdown.Meter]:
    customer = client.customers.create(external_id="u1", name="Ann")
    meter = client.meters.create(
        name="Tokens", event_name="api_call", aggregation={"func": "sum", "property": "tokens"},
        rate="0.01",
    )  # fmt: skip
    return customer, meter


def test_meters_create_list_usage(run: Run) -> None:
    meter = ok_json(
        run("meters", "create", "--name", "Tokens", "--event-name", "api_call",
            "--aggregation", "sum", "--property", "tokens", "--rate", "0.01", "--unit", "tokens",
            "--filter", '{"clauses": []}', "--json")
    )  # fmt: skip
    assert meter["id"].startswith("mtr_") and meter["rate"] == "0.01"
    assert meter["aggregation"] == {"func": "sum", "property": "tokens"}
    count = ok_json(run("meters", "create", "--name", "Logins", "--event-name", "login", "--json"))
    assert count["aggregation"]["func"] == "count"
    listed = ok_json(run("meters", "list", "--json"))
    assert [m["id"] for m in listed] == [count["id"], meter["id"]]
    assert [m["id"] for m in ok_json(run("meters", "list", "--event-name", "login", "--json"))] == [
        count["id"]
    ]
    table = run("meters", "list")
    assert table.exit_code == 0 and "sum(tokens)" in table.stdout and "api_call" in table.stdout
    bad = run("meters", "create", "--name", "x", "--event-name", "y", "--filter", "{nope")
    assert bad.exit_code == 2 and "--filter must be JSON" in bad.stderr


def test_meters_usage(run: Run, live_url: str, api_key: str) -> None:
    with drawdown.Client(api_key, base_url=live_url) as client:
        customer, meter = _seed(client)
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        when = max(day, datetime.now(UTC) - timedelta(hours=1))
        client.events.ingest(
            [{"identifier": f"x{i}", "name": "api_call", "customer_id": customer.id,
              "timestamp": when, "properties": {"tokens": 4}} for i in range(3)]
        )  # fmt: skip
    start, end = _rfc(day), _rfc(day + timedelta(days=1))
    usage = ok_json(run("meters", "usage", meter.id, "--from", start, "--to", end, "--json"))
    assert usage["total"] == "12" and usage["window"] == "day" and usage["from"] == start
    assert [b["value"] for b in usage["buckets"]] == ["12"]
    recent = ok_json(run("meters", "usage", "api_call", "--window", "none", "--json"))
    assert recent["total"] == "12"  # default range: the last 30 days
    grouped = ok_json(
        run(
            "meters",
            "usage",
            "api_call",
            "--group-by",
            "customer",
            "--from",
            start,
            "--to",
            end,
            "--window",
            "none",
            "--json",
        )
    )
    assert [b["value"] for b in grouped["buckets"]] == ["12"]
    table = run("meters", "usage", meter.id, "--from", start, "--to", end)
    assert table.exit_code == 0 and "total: 12" in table.stdout
    bad = run("meters", "usage", meter.id, "--window", "year")
    assert bad.exit_code == 1 and "422" in bad.stderr


def _rfc(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_grants_create_list_void_balance_ledger(run: Run, live_url: str, api_key: str) -> None:
    with drawdown.Client(api_key, base_url=live_url) as client:
        customer, meter = _seed(client)
    grant = ok_json(
        run("grants", "create", "--external-customer", "u1", "--meter", meter.id,
            "--amount", "10.00", "--category", "promotional", "--priority", "10",
            "--name", "trial", "-m", "source=cli", "--json")
    )  # fmt: skip
    assert grant["amount"] == "10.00" and grant["status"] == "active"
    assert grant["metadata"] == {"source": "cli"} and grant["customer_id"] == customer.id
    listed = ok_json(run("grants", "list", "--customer", customer.id, "--json"))
    assert [g["id"] for g in listed] == [grant["id"]]

    with drawdown.Client(api_key, base_url=live_url) as client:
        client.events.ingest(
            [
                {
                    "identifier": "a",
                    "name": "api_call",
                    "external_customer_id": "u1",
                    "properties": {"tokens": 150},
                }
            ]
        )

    [balance] = ok_json(run("balance", customer.id, "--json"))
    assert balance["available"] == "8.50" and balance["currency_id"] == meter.currency_id
    assert ok_json(run("balance", "u1", "--external", "--json")) == [balance]
    table = run("balance", "u1", "-e")
    assert table.exit_code == 0 and "8.50" in table.stdout

    ledger = ok_json(run("ledger", customer.id, "--json"))
    assert [(t["type"], t["amount"], t["balance_after"]) for t in ledger] == [
        ("consumption", "-1.50", "8.50"), ("grant", "10.00", "10.00")]  # fmt: skip
    assert len(ok_json(run("ledger", "u1", "-e", "--type", "grant", "--json"))) == 1
    ledger_table = run("ledger", "u1", "-e")
    assert ledger_table.exit_code == 0 and "consumption" in ledger_table.stdout

    voided = ok_json(run("grants", "void", grant["id"], "--json"))
    assert voided["status"] == "voided"
    assert ok_json(run("balance", customer.id, "--json"))[0]["available"] == "0.00"
    assert ok_json(run("grants", "list", "--status", "voided", "--json"))[0]["id"] == grant["id"]
    missing = run("grants", "create", "--amount", "1")
    assert missing.exit_code == 1 and "422" in missing.stderr


def test_ingest_jsonl_and_csv(run: Run, live_url: str, api_key: str, tmp_path: Path) -> None:
    with drawdown.Client(api_key, base_url=live_url) as client:
        customer, meter = _seed(client)
        client.credit_grants.create(customer_id=customer.id, meter_id=meter.id, amount="100")
    jsonl = tmp_path / "events.jsonl"
    lines = [json.dumps({"identifier": f"j{i}", "name": "api_call", "external_customer_id": "u1",
                         "properties": {"tokens": 10}}) for i in range(25)]  # fmt: skip
    jsonl.write_text("\n".join(lines[:10]) + "\n\n" + "\n".join(lines[10:]) + "\n")
    result = run("ingest", str(jsonl), "--batch-size", "10", "--json")
    assert ok_json(result) == {"events": 25, "inserted": 25, "duplicates": 0, "batches": 3}
    again = run("ingest", str(jsonl), "--concurrency", "2", "--batch-size", "4")
    assert again.exit_code == 0 and "25 duplicates" in again.stdout and "0 inserted" in again.stdout

    csv_file = tmp_path / "more.csv"
    csv_file.write_text(
        "identifier,name,customer_id,timestamp,tokens,usage.model\n"
        f"c1,api_call,{customer.id},,20,gpt\n"
        f"c2,api_call,{customer.id},{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 60))},30,gpt\n"
    )
    assert ok_json(run("ingest", str(csv_file), "--json"))["inserted"] == 2
    with drawdown.Client(api_key, base_url=live_url) as client:
        stored = {e.identifier: e for e in client.events.list_all(customer_id=customer.id)}
        assert stored["c1"].properties == {"tokens": 20, "usage": {"model": "gpt"}}
        # 25 x 10 + 20 + 30 tokens at 0.01 = 3.00 drawn from 100
        assert client.balances.list(customer_id=customer.id)[0].available == Decimal("97.00")


def test_ingest_refuses_a_bad_file_before_sending(
    run: Run, live_url: str, api_key: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"identifier": "x1", "name": "n", "external_customer_id": "u"}\n{oops\n')
    result = run("ingest", str(bad))
    assert result.exit_code == 2 and "bad.jsonl:2" in result.stderr
    with drawdown.Client(api_key, base_url=live_url) as client:
        assert client.events.list().data == []  # line 1 was not sent either

    invalid = tmp_path / "invalid.jsonl"
    invalid.write_text(
        '{"identifier": "ok", "name": "n", "external_customer_id": "u"}\n{"name": "no id"}\n'
    )
    refused = run("ingest", str(invalid), "--batch-size", "1")
    assert refused.exit_code == 1 and "422" in refused.stderr and "batch 1" in refused.stderr
    assert "1 inserted" in refused.stderr


def test_worker_runs_the_clock_until_interrupted(database: Database, tmp_path: Path) -> None:
    env = {**os.environ, "DRAWDOWN_DATABASE_URL": database.url, "DRAWDOWN_CLOCK_INTERVAL_S": "0.2"}
    process = subprocess.Popen(
        [DRAWDOWN_BIN, "worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert "clock running every 0.2 s" in first_line
        process.send_signal(signal.SIGINT)
        rest: Any = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert "Traceback" not in rest
