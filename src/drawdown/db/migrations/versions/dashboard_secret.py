"""server_secrets: secrets generated once and shared by every process (dashboard sessions)

Revision ID: dashboard_secret
Revises: blocklet_app_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import drawdown.db.types

revision: str = "dashboard_secret"
down_revision: str | None = "blocklet_app_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
