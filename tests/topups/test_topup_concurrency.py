"""Top-ups under concurrency.

- Threshold rules while 4 OS processes ingest for the same 8 customers at once (PostgreSQL):
  every transaction that leaves an account at or below the threshold makes exactly one
  top-up and every other makes none (read from each ledger), a daily cap stops at the cap,
  a cooldown at one, and an unconfirmed external top-up is requested once.
- A schedule rule run by 2 workers at once while the clock crosses 3 periods: exactly 3
  grants (both databases)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from drawdown.app import create_app
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.db.tables import ledger_entries, topups
from drawdown.topups.clock import run_schedules
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger

PROCESSES = 4
BATCHES_PER_PROCESS = 6
EVENTS_PER_BATCH = 40
THRESHOLD = 5000  # 50.00 in base units
# (external ids, rule body): usage is 120.00 per customer against a grant of 100.00.
GROUPS: dict[str, dict[str, Any]] = {
    "auto": {"amount": "30"},
    "capped": {"amount": "20", "limits": {"max_per_day": 3}},
    "cooldown": {"amount": "20", "limits": {"cooldown_s": 3600}},
    "external": {"amount": "100", "settlement": "external"},
}
CUSTOMERS = [f"{group}-{n}" for group in GROUPS for n in range(2)]


def ingest_worker(url: str, secret: str, seed: int) -> int:
    settings = Settings(database_url=url, run_clock_in_server=False, run_webhooks_in_server=False)
    sent = 0
    with TestClient(create_app(settings)) as client:
        for batch in range(BATCHES_PER_PROCESS):
            events = [
                {
                    "identifier": f"p{seed}-b{batch}-e{i}",
                    "name": "api_calls",
                    "external_customer_id": CUSTOMERS[(i + seed) % len(CUSTOMERS)],
                    "properties": {"units": 1},
                }
                for i in range(EVENTS_PER_BATCH)
            ]
            response = client.post(
                "/v1/events/ingest",
                json={"events": events},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert response.status_code == 200, response.text
            sent += len(events)
    return sent


def _seed(api: Any, setup: Setup) -> dict[str, str]:
    ids = {}
    for name in CUSTOMERS:
        customer = api.ok("POST", "/v1/customers", 201, json={"external_id": name})
        ids[customer["id"]] = name
        body = {"customer_id": customer["id"], "currency_id": setup.currency["id"], "amount": "100"}
        api.ok("POST", "/v1/credit-grants", 201, json=body)
        rule = {"currency_id": setup.currency["id"], "trigger": "threshold", "threshold": "50"}
        rule.update(GROUPS[name.split("-")[0]])
        api.ok("POST", f"/v1/customers/{customer['id']}/topup-rules", 201, json=rule)
    return ids


def _transactions(entries: list[Any]) -> list[list[Any]]:
    """One account's entries cut into its transactions (each writes at its own instant)."""
    out: list[list[Any]] = []
    for entry in entries:
        if out and out[-1][-1].created_at == entry.created_at:
            out[-1].append(entry)
        else:
            out.append([entry])
    return out


def _check_one_per_shortfall(entries: list[Any], topup_grants: set[Any]) -> int:
    """Every transaction that ends at or below the threshold before its top-up has exactly
    one; no other has any. Returns how many top-ups the ledger shows."""
    made = 0
    for txn in _transactions(entries)[1:]:  # the first is the seed grant
        mine = [e for e in txn if e.type == "grant" and e.grant_id in topup_grants]
        assert len(mine) <= 1
        before_topup = txn[-1].balance_after - sum(e.amount for e in mine)
        if before_topup <= THRESHOLD:
            assert len(mine) == 1, "a shortfall without its top-up"
            assert txn[-1].balance_after > THRESHOLD
            made += 1
        else:
            assert not mine, "a top-up above the threshold"
    return made


@pytest.mark.slow
def test_threshold_rules_under_four_ingesting_processes(api: Any, database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("multi-process row locking is a PostgreSQL test; SQLite has one writer")
    setup = Setup(api, database)
    names = _seed(api, setup)
    url = database.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        sent = pool.starmap(ingest_worker, [(url, api.secret, seed) for seed in range(PROCESSES)])
    assert sum(sent) == len(CUSTOMERS) * 12_000 // 100

    with database.read() as conn:
        made = list(conn.execute(select(topups)))
        entries = list(
            conn.execute(
                select(ledger_entries).order_by(
                    ledger_entries.c.customer_id, ledger_entries.c.sequence
                )
            )
        )
    by_customer: dict[str, list[Any]] = defaultdict(list)
    for row in made:
        by_customer[names[f"cus_{row.customer_id.hex}"]].append(row)
    counts = Counter({name: len(rows) for name, rows in by_customer.items()})
    # A cap of 3 a day, a cooldown longer than the test, one request while it is pending.
    for n in range(2):
        assert counts[f"capped-{n}"] == 3
        assert counts[f"cooldown-{n}"] == 1
        assert [r.status for r in by_customer[f"external-{n}"]] == ["pending"]
    grants = {row.grant_id for row in made if row.grant_id is not None}
    ledgers: dict[Any, list[Any]] = defaultdict(list)
    for entry in entries:
        ledgers[f"cus_{entry.customer_id.hex}"].append(entry)
    for n in range(2):
        name = f"auto-{n}"
        (customer_id,) = [cid for cid, nm in names.items() if nm == name]
        shown = _check_one_per_shortfall(ledgers[customer_id], grants)
        assert shown == counts[name] >= 2
    check_ledger(database)


def test_schedule_rule_two_workers_three_periods(api: Any, database: Database, clock: Any) -> None:
    setup = Setup(api, database)
    anchor = datetime(2027, 1, 31, 12, tzinfo=UTC)
    clock.set(anchor - timedelta(hours=1))
    url = f"/v1/customers/{setup.customer['id']}/topup-rules"
    created = api.ok(
        "POST",
        url,
        201,
        json={
            "currency_id": setup.currency["id"],
            "trigger": "schedule",
            "interval": "month",
            "anchor_at": anchor.isoformat(),
            "amount": "10",
            "grant_template": {"category": "promotional", "expires_after": "P1M"},
        },
    )
    assert created["next_run_at"] == "2027-01-31T12:00:00Z"
    assert run_schedules(database, clock.now()) == 0  # before the first period
    # Jan 31, Feb 28 (clamped), Mar 31: three periods, each run by two racing workers.
    for when in ("2027-01-31T12:00:00", "2027-02-28T12:00:01", "2027-03-31T13:00:00"):
        clock.set(datetime.fromisoformat(when).replace(tzinfo=UTC))
        _race(database, clock.now())
        _race(database, clock.now() + timedelta(minutes=1))  # a later pass: nothing new
    with database.read() as conn:
        rows = list(conn.execute(select(topups).order_by(topups.c.period_start)))
    assert [r.period_start.isoformat() for r in rows] == [
        "2027-01-31T12:00:00+00:00",
        "2027-02-28T12:00:00+00:00",
        "2027-03-31T12:00:00+00:00",
    ]
    assert all(r.status == "succeeded" and r.grant_id for r in rows)
    grants = api.ok("GET", "/v1/credit-grants", params={"customer_id": setup.customer["id"]})
    assert len(grants["data"]) == 3
    assert {g["amount"] for g in grants["data"]} == {"10.00"}
    # Each expires a month after its period's run; the last one is live.
    assert setup.available() == "10.00"
    rule = api.ok("GET", f"/v1/topup-rules/{created['id']}")
    assert rule["next_run_at"] == "2027-04-30T12:00:00Z"
    check_ledger(database)


def _race(database: Database, now: datetime) -> None:
    """Two workers run the schedule pass at the same instant."""
    barrier = threading.Barrier(2)
    made: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            made.append(run_schedules(database, now))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(made) <= 1
