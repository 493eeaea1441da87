"""Blocklet app public keys (component-signature authentication for the Payment Kit client)

Revision ID: blocklet_app_keys
Revises: 0001
Create Date: 2026-12-01 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import drawdown.db.types

revision: str = "blocklet_app_keys"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blocklet_app_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.Column("revoked_at", drawdown.db.types.Timestamp(), nullable=True),
        sa.CheckConstraint(
            "scope IN ('full', 'ingest', 'read')", name=op.f("ck_blocklet_app_keys_scope")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_blocklet_app_keys_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocklet_app_keys")),
    )
    op.create_index(op.f("ix_blocklet_app_keys_public_key"), "blocklet_app_keys", ["public_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_blocklet_app_keys_public_key"), table_name="blocklet_app_keys")
    op.drop_table("blocklet_app_keys")
