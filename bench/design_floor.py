"""The floor of the rows the design writes: per batch, in one committed transaction and with
no HTTP and no rules, exactly the rows ingest writes for it: the events (and on PostgreSQL
their identifiers), one consumption
ledger entry per event, one UPDATE per touched account and per touched grant, and the usage
rollup upserts (4 rows per meter, customer and 15-minute bucket). Rows and parameters are
built before the clock starts. The ratio of ingest to this floor is the share of the data
model's own cost that the server reaches."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from bench.data import METERS
from bench.floor import COLUMNS, FloorDb, Row, copy_identifiers, prepare
from drawdown.db.engine import Database
from drawdown.db.tables import credit_accounts, credit_grants, currencies, ledger_entries
from drawdown.db.types import to_micros
from drawdown.ids import new_id
from drawdown.rollups.partial import Partial
from drawdown.rollups.service import ALL_PERIOD, PERIODS_S, subject_of
from drawdown.rollups.store import upsert
from drawdown.tenancy import Tenant

__all__ = ["DesignBatch", "prepare_design", "run_design_floor"]

LEDGER_COLUMNS = [c.name for c in ledger_entries.columns]
_MINUTE_US = 60_000_000


@dataclass
class DesignBatch:
    events: list[Row]
    entries: list[Row]
    accounts: list[tuple[Any, ...]]
    grants: list[tuple[Any, ...]]
    rollups: dict[Any, Partial]


class _Books:
    """One account and one large grant per customer, made once per floor database."""

    def __init__(self, floor: FloorDb) -> None:
        self.currency_id = new_id()
        self.meter_ids = {meter.event_name: new_id() for meter in METERS}
        self.accounts: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
        self.sequence: dict[uuid.UUID, int] = {}
        now = datetime.now().astimezone()
        tenant = {"organization_id": floor.organization_id, "mode": "test"}
        account_rows, grant_rows = [], []
        for customer_id in floor.customer_ids.values():
            account_id, grant_id = new_id(), new_id()
            self.accounts[customer_id] = (account_id, grant_id)
            self.sequence[account_id] = 0
            account_rows.append(
                {
                    **tenant,
                    "id": account_id,
                    "customer_id": customer_id,
                    "currency_id": self.currency_id,
                    "balance": 10**15,
                    "debt": 0,
                    "last_sequence": 0,
                    "updated_at": now,
                }
            )
            grant_rows.append(
                {
                    **tenant,
                    "id": grant_id,
                    "customer_id": customer_id,
                    "currency_id": self.currency_id,
                    "account_id": account_id,
                    "amount": 10**15,
                    "remaining": 10**15,
                    "category": "paid",
                    "priority": 50,
                    "effective_at": now,
                    "status": "active",
                    "name": "floor",
                    "metadata_": {},
                    "booked_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        database = Database(floor.url)
        with database.write() as conn:
            conn.execute(
                insert(currencies),
                [
                    {
                        **tenant,
                        "id": self.currency_id,
                        "name": "floor",
                        "symbol": "F",
                        "decimals": 6,
                        "created_at": now,
                    }
                ],
            )
            conn.execute(insert(credit_accounts), account_rows)
            conn.execute(insert(credit_grants), grant_rows)
        database.dispose()


_books: dict[str, _Books] = {}


def prepare_design(
    floor: FloorDb, batches: Sequence[Sequence[dict[str, Any]]]
) -> list[DesignBatch]:
    books = _books.get(floor.url) or _books.setdefault(floor.url, _Books(floor))
    sqlite = floor.url.startswith("sqlite")
    org = floor.organization_id
    now = to_micros(datetime.now().astimezone())
    out = []
    for batch, rows in zip(batches, prepare(floor, batches), strict=True):
        entries: list[Row] = []
        touched: dict[uuid.UUID, tuple[int, uuid.UUID]] = {}
        partials: dict[Any, Partial] = {}
        for event, row in zip(batch, rows, strict=True):
            customer_id = floor.customer_ids[event["external_customer_id"]]
            account_id, grant_id = books.accounts[customer_id]
            books.sequence[account_id] += 1
            seq = books.sequence[account_id]
            entries.append(
                _entry(
                    sqlite,
                    org,
                    account_id,
                    customer_id,
                    books.currency_id,
                    seq,
                    grant_id,
                    row[0],
                    now,
                )
            )
            touched[account_id] = (seq, grant_id)
            ts = row[7]
            meter_id = books.meter_ids[event["name"]]
            subject = subject_of(customer_id, None)
            value = next((v for v in event["properties"].values() if isinstance(v, int)), None)
            for period in PERIODS_S:
                key = (meter_id, period, subject, ts - ts % (period * 1_000_000))
                partials.setdefault(key, Partial()).add_event(value)
            partials.setdefault((meter_id, ALL_PERIOD, subject, 0), Partial()).add_event(value)
        accounts = [(10**15 - seq, seq, now, _id(sqlite, a)) for a, (seq, _) in touched.items()]
        grants = [(10**15 - seq, now, _id(sqlite, g)) for seq, g in touched.values()]
        out.append(DesignBatch(rows, entries, accounts, grants, partials))
    return out


def _id(sqlite: bool, value: uuid.UUID) -> Any:
    return value.hex if sqlite else value


def _entry(
    sqlite: bool,
    org: uuid.UUID,
    account_id: uuid.UUID,
    customer_id: uuid.UUID,
    currency_id: uuid.UUID,
    seq: int,
    grant_id: uuid.UUID,
    event_id: Any,
    now: int,
) -> Row:
    values = {
        "id": new_id(),
        "organization_id": org,
        "mode": "test",
        "account_id": account_id,
        "customer_id": customer_id,
        "currency_id": currency_id,
        "sequence": seq,
        "type": "consumption",
        "amount": -1,
        "balance_after": 10**15 - seq,
        "grant_id": grant_id,
        "event_id": event_id,
        "reason": None,
        "created_at": now,
    }
    return tuple(
        v.hex if sqlite and isinstance(v, uuid.UUID) else v
        for v in (values[name] for name in LEDGER_COLUMNS)
    )


_ACCOUNTS = (
    "UPDATE credit_accounts SET balance = {0}, last_sequence = {0}, updated_at = {0} WHERE id = {0}"
)
_GRANTS = "UPDATE credit_grants SET remaining = {0}, updated_at = {0} WHERE id = {0}"


def run_design_floor(
    floor: FloorDb, batches: list[DesignBatch], *, rollups: bool = True
) -> tuple[int, float]:
    """Every batch in its own committed transaction; (events, seconds). ``rollups=False``
    leaves the rollup upserts out (what they cost is the difference)."""
    tenant = Tenant(floor.organization_id, "test")
    database = Database(floor.url)
    started = time.perf_counter()
    for batch in batches:
        with database.write() as conn:
            if database.is_sqlite:
                _sqlite_batch(conn, batch)
            else:
                _pg_batch(conn, batch)
            if rollups:
                upsert(conn, tenant, batch.rollups)
    seconds = time.perf_counter() - started
    database.dispose()
    return sum(len(batch.events) for batch in batches), seconds


def _sqlite_batch(conn: Any, batch: DesignBatch) -> None:
    events_sql = (
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    )
    conn.exec_driver_sql(events_sql, batch.events)
    ledger_sql = (
        f"INSERT INTO ledger_entries ({', '.join(LEDGER_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})"
    )
    conn.exec_driver_sql(ledger_sql, batch.entries)
    conn.exec_driver_sql(_ACCOUNTS.format("?"), batch.accounts)
    conn.exec_driver_sql(_GRANTS.format("?"), batch.grants)


def _pg_batch(conn: Any, batch: DesignBatch) -> None:
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:
        copy_identifiers(cursor, batch.events)
        with cursor.copy(f"COPY events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in batch.events:
                copy.write_row(row)
        with cursor.copy(f"COPY ledger_entries ({', '.join(LEDGER_COLUMNS)}) FROM STDIN") as copy:
            for row in batch.entries:
                copy.write_row(row)
        cursor.executemany(_ACCOUNTS.format("%s"), batch.accounts)
        cursor.executemany(_GRANTS.format("%s"), batch.grants)
