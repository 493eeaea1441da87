"""webhook endpoints: throttled_until (a receiver that asked to slow down)

Revision ID: webhook_endpoint_throttle
Revises: webhooks_outbox
Create Date: 2026-12-01 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import drawdown.db.types

revision: str = "webhook_endpoint_throttle"
down_revision: str | None = "webhooks_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_endpoints",
        sa.Column("throttled_until", drawdown.db.types.Timestamp(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("throttled_until")
