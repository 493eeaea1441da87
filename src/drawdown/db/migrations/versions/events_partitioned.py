"""PostgreSQL: events partitioned by month, exact dedup in event_identifiers

Revision ID: events_partitioned
Revises: usage_rollups
Create Date: 2026-12-01 18:00:00

On PostgreSQL the events table becomes ``PARTITION BY RANGE (timestamp)`` with one partition
per UTC month (created ahead by the server's background thread) and a default partition.
Its primary key becomes (id, timestamp), so the foreign keys that pointed at events.id
(ledger entries' event_id, grants' source_event_id) are dropped: the ledger is append-only
and its invariants are checked by tests. The identifiers move to ``event_identifiers``.
Existing rows are copied. SQLite keeps its events table; event_identifiers exists there
too (empty), so both backends have one schema to describe."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import drawdown.db.types
from drawdown.config import load_settings
from drawdown.db.partitions import ensure_event_partitions

revision: str = "events_partitioned"
down_revision: str | None = "usage_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "id, organization_id, mode, identifier, name, customer_id, external_customer_id, "
    "timestamp, ingested_at, properties"
)


def upgrade() -> None:
    op.create_table(
        "event_identifiers",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("timestamp", drawdown.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "mode", "identifier", name=op.f("pk_event_identifiers")
        ),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (
        "ALTER TABLE ledger_entries DROP CONSTRAINT fk_ledger_entries_event_id_events",
        "ALTER TABLE credit_grants DROP CONSTRAINT fk_credit_grants_source_event_id_events",
        "ALTER TABLE events RENAME TO events_unpartitioned",
        "ALTER TABLE events_unpartitioned RENAME CONSTRAINT pk_events TO pk_events_unpartitioned",
        "ALTER INDEX ix_events_usage RENAME TO ix_events_unpartitioned_usage",
        "ALTER INDEX ix_events_customer RENAME TO ix_events_unpartitioned_customer",
        """
        CREATE TABLE events (
            id uuid NOT NULL,
            organization_id uuid NOT NULL,
            mode varchar(4) NOT NULL,
            identifier varchar(255) NOT NULL,
            name varchar(255) NOT NULL,
            customer_id uuid,
            external_customer_id varchar(255),
            timestamp bigint NOT NULL,
            ingested_at bigint NOT NULL,
            properties jsonb NOT NULL,
            CONSTRAINT pk_events PRIMARY KEY (id, timestamp),
            CONSTRAINT fk_events_organization_id_organizations
                FOREIGN KEY (organization_id) REFERENCES organizations (id),
            CONSTRAINT fk_events_customer_id_customers
                FOREIGN KEY (customer_id) REFERENCES customers (id)
        ) PARTITION BY RANGE (timestamp)
        """,
        "CREATE INDEX ix_events_usage ON events (organization_id, mode, name, timestamp)",
        "CREATE INDEX ix_events_customer ON events (customer_id, name, timestamp)",
        "CREATE TABLE events_default PARTITION OF events DEFAULT",
    ):
        op.execute(statement)
    bind = op.get_bind()
    low, high = bind.exec_driver_sql(
        "SELECT min(timestamp), max(timestamp) FROM events_unpartitioned"
    ).one()
    now = datetime.now(UTC)
    back = now - load_settings().max_event_age - timedelta(days=5)
    first = back if low is None else min(back, _from_micros(low))
    last = now if high is None else max(now, _from_micros(high))
    ensure_event_partitions(bind, first, last)
    op.execute(f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM events_unpartitioned")
    op.execute(
        "INSERT INTO event_identifiers (organization_id, mode, identifier, event_id, timestamp) "
        "SELECT organization_id, mode, identifier, id, timestamp FROM events_unpartitioned"
    )
    op.execute("DROP TABLE events_unpartitioned")


def _from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def downgrade() -> None:
    raise NotImplementedError("events stay partitioned; restore from a backup to go back")
