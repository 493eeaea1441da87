"""Many hosts over one PostgreSQL: ``drawdown serve`` on 127.0.0.2 and 127.0.0.3 (two worker
processes each), ``drawdown worker`` as a third process group (it listens on nothing: it
only talks to PostgreSQL). Clients ingest for the same customers through both API hosts,
and send every acknowledged batch again through the other host; meanwhile one host's whole
process group is killed (SIGKILL) and started again. Afterwards every event is stored once,
the usage booked matches the events to the unit, the ledger invariants hold, and the
worker has booked the expiries that came due. Only loopback addresses are used."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from drawdown.db.engine import Database
from drawdown.db.tables import credit_grants, events, ledger_entries
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger
from tests.sdk.conftest import DRAWDOWN_BIN

CLIENTS = 4
BATCHES_PER_CLIENT = 10
EVENTS_PER_BATCH = 40
CUSTOMERS = 6
HOSTS = ("127.0.0.2", "127.0.0.3")
DEADLINE_S = 150.0


def _bindable(address: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True


def _port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Host:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    url: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            # Its own session: the host's whole process group can be killed at once.
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=self.log_path.parent, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        if self.url is None:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def kill_group(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def batch(client: int, number: int) -> list[dict[str, Any]]:
    return [
        {
            "identifier": f"c{client}b{number}-e{i}",
            "name": "api_calls",
            "external_customer_id": f"h{(i + number) % CUSTOMERS}",
            "properties": {"units": 1 + i % 3},
        }
        for i in range(EVENTS_PER_BATCH)
    ]


def units_of(events_: list[dict[str, Any]]) -> int:
    return sum(event["properties"]["units"] for event in events_)


def send(urls: list[str], key: str, events_: list[dict[str, Any]], first: int) -> dict[str, Any]:
    """POST to one host, then the other while the first fails (a load balancer's retry)."""
    deadline = time.monotonic() + DEADLINE_S
    attempt = first
    while time.monotonic() < deadline:
        url = urls[attempt % len(urls)]
        attempt += 1
        try:
            response = httpx.post(
                url + "/v1/events/ingest",
                json={"events": events_},
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            )
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        if response.status_code >= 500:
            time.sleep(0.05)
            continue
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result
    raise AssertionError("no host took the batch before the deadline")


def client_loop(urls: list[str], key: str, client: int, acked: list[str]) -> None:
    for number in range(BATCHES_PER_CLIENT):
        events_ = batch(client, number)
        first = send(urls, key, events_, number + client)
        assert first["inserted"] + first["duplicates"] == EVENTS_PER_BATCH
        acked.append(f"c{client}b{number}")
        # The same batch through the other host: nothing new may be stored.
        again = send(urls, key, events_, number + client + 1)
        assert again == {"inserted": 0, "duplicates": EVENTS_PER_BATCH}, again


@pytest.mark.slow
def test_two_api_hosts_and_a_worker_over_one_postgresql(
    api: Any, database: Database, tmp_path: Path
) -> None:
    if database.is_sqlite:
        pytest.skip("many hosts share one PostgreSQL; SQLite is one machine's file")
    unbindable = [address for address in HOSTS if not _bindable(address)]
    if unbindable:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot bind {unbindable} on this machine")
        pytest.skip(f"cannot bind {unbindable} on this machine")
    setup = Setup(api, database)
    soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    for i in range(CUSTOMERS):
        customer = api.ok("POST", "/v1/customers", 201, json={"external_id": f"h{i}"})
        grant = {"customer_id": customer["id"], "currency_id": setup.currency["id"]}
        api.ok("POST", "/v1/credit-grants", 201, json={**grant, "amount": "400"})
        api.ok(
            "POST", "/v1/credit-grants", 201, json={**grant, "amount": "5000", "expires_at": soon}
        )

    url = database.engine.url.render_as_string(hide_password=False)
    base_env = {
        **os.environ,
        "DRAWDOWN_DATABASE_URL": url,
        "DRAWDOWN_LOG_LEVEL": "warning",
        "DRAWDOWN_LOG_FORMAT": "json",
        "DRAWDOWN_CLOCK_INTERVAL_S": "0.3",
        # The test waits for expiries booked at expires_at: no late-event grace.
        "DRAWDOWN_EXPIRY_GRACE_S": "0",
    }
    api_env = {**base_env, "DRAWDOWN_RUN_CLOCK_IN_SERVER": "false", "DRAWDOWN_WORKERS": "2"}
    hosts = []
    for address in HOSTS:
        port = _port(address)
        args = [DRAWDOWN_BIN, "serve", "--host", address, "--port", str(port)]
        hosts.append(
            Host(address, args, api_env, tmp_path / f"{address}.log", f"http://{address}:{port}")
        )
    worker = Host("worker", [DRAWDOWN_BIN, "worker"], base_env, tmp_path / "worker.log")
    try:
        for host in [*hosts, worker]:
            host.start()
        urls = [host.url for host in hosts if host.url]
        acked: list[str] = []
        clients = [
            threading.Thread(target=client_loop, args=(urls, api.secret, c, acked), daemon=True)
            for c in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        hosts[0].kill_group()  # every process of the host at once: no shutdown at all
        killed_at = len(acked)
        time.sleep(0.5)
        hosts[0].start()
        for thread in clients:
            thread.join(timeout=DEADLINE_S)
        assert not any(thread.is_alive() for thread in clients), "clients did not finish"
        assert killed_at < CLIENTS * BATCHES_PER_CLIENT, "the kill must come mid-ingest"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _open_due(database):
            time.sleep(0.2)  # the worker books the expiries that came due
    finally:
        for host in [*hosts, worker]:
            host.stop()

    assert len(set(acked)) == CLIENTS * BATCHES_PER_CLIENT
    with database.read() as conn:
        stored = Counter(
            identifier.split("-")[0]
            for identifier in conn.execute(select(events.c.identifier)).scalars()
        )
        booked = conn.execute(
            select(ledger_entries.c.amount).where(ledger_entries.c.event_id.is_not(None))
        ).scalars()
        usage_booked = -sum(booked)
        statuses = Counter(conn.execute(select(credit_grants.c.status)).scalars())
    assert len(stored) == CLIENTS * BATCHES_PER_CLIENT and set(stored.values()) == {
        EVENTS_PER_BATCH
    }
    expected_units = sum(
        units_of(batch(c, n)) for c in range(CLIENTS) for n in range(BATCHES_PER_CLIENT)
    )
    assert usage_booked == expected_units * 100  # 1 unit = 1.00 credit = 100 base units
    assert statuses["expired"] + statuses["depleted"] >= CUSTOMERS
    assert not _open_due(database)
    check_ledger(database)


def _open_due(database: Database) -> bool:
    now = datetime.now(UTC)
    with database.read() as conn:
        query = select(credit_grants.c.id).where(
            credit_grants.c.status.in_(["active", "pending"]), credit_grants.c.expires_at <= now
        )
        return conn.execute(query.limit(1)).first() is not None
