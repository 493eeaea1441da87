"""usage rollups: partial aggregates per meter, customer and UTC bucket

Revision ID: usage_rollups
Revises: dashboard_secret
Create Date: 2026-12-01 17:50:00

Existing events are not rolled up here: every meter that has events gets a backfill job,
which the server's background thread works through in bounded chunks (usage reads raw
events for that meter until its job is done)."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import drawdown.db.types

revision: str = "usage_rollups"
down_revision: str | None = "dashboard_secret"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY_US = 86_400_000_000


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("meter_id", sa.Uuid(), nullable=False),
        sa.Column("period_s", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("bucket_start", sa.BigInteger(), nullable=False),
        sa.Column("n_events", sa.BigInteger(), nullable=False),
        sa.Column("n_values", sa.BigInteger(), nullable=False),
        sa.Column("int_total", sa.BigInteger(), nullable=False),
        sa.Column("dec_total", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("min_value", sa.Numeric(), nullable=True),
        sa.Column("max_value", sa.Numeric(), nullable=True),
        sa.PrimaryKeyConstraint(
            "meter_id", "period_s", "bucket_start", "subject", name=op.f("pk_usage_rollups")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_usage_rollups_subject",
        "usage_rollups",
        ["meter_id", "period_s", "subject", "bucket_start"],
    )
    op.create_table(
        "usage_rollup_backfills",
        sa.Column("meter_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("next_us", sa.BigInteger(), nullable=False),
        sa.Column("until_us", sa.BigInteger(), nullable=False),
        sa.Column("created_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", name=op.f("pk_usage_rollup_backfills")),
    )
    # Meters whose events were stored before this revision: rebuilt in the background.
    op.execute(
        f"""
        INSERT INTO usage_rollup_backfills
            (meter_id, organization_id, mode, first_us, next_us, until_us, created_at)
        SELECT m.id, m.organization_id, m.mode,
               min(e.timestamp) - min(e.timestamp) % {_DAY_US},
               min(e.timestamp) - min(e.timestamp) % {_DAY_US},
               max(e.timestamp) - max(e.timestamp) % {_DAY_US} + {_DAY_US},
               max(e.ingested_at)
        FROM meters m
        JOIN events e ON e.organization_id = m.organization_id AND e.mode = m.mode
            AND e.name = m.event_name
        WHERE m.aggregation_func IN ('sum', 'count', 'avg', 'min', 'max')
        GROUP BY m.id, m.organization_id, m.mode
        """
    )


def downgrade() -> None:
    op.drop_table("usage_rollup_backfills")
    op.drop_index("ix_usage_rollups_subject", table_name="usage_rollups")
    op.drop_table("usage_rollups")
