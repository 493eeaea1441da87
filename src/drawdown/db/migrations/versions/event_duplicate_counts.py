"""event_duplicate_counts: per tenant and minute, how many ingested events were duplicates

Revision ID: event_duplicate_counts
Revises: ledger_implied_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import drawdown.db.types

revision: str = "event_duplicate_counts"
down_revision: str | None = "ledger_implied_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_duplicate_counts",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("minute_start", drawdown.db.types.Timestamp(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "mode", "minute_start", name=op.f("pk_event_duplicate_counts")
        ),
    )


def downgrade() -> None:
    op.drop_table("event_duplicate_counts")
