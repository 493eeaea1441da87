"""credit holds; a reason on ledger entries (customer_deleted, when a deletion voids grants)

Revision ID: holds_and_expiry_grace
Revises: events_partitioned
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import drawdown.db.types

revision: str = "holds_and_expiry_grace"
down_revision: str | None = "events_partitioned"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
    op.create_table(
        "credit_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("min_amount", sa.BigInteger(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("expires_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("captured_amount", sa.BigInteger(), nullable=True),
        sa.Column("debt_incurred", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column(
            "metadata_",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("resolved_at", drawdown.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.CheckConstraint(
            "amount > 0 AND amount <= requested", name=op.f("ck_credit_holds_amount")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'captured', 'released', 'expired')",
            name=op.f("ck_credit_holds_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["credit_accounts.id"],
            name=op.f("fk_credit_holds_account_id_credit_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["currency_id"], ["currencies.id"], name=op.f("fk_credit_holds_currency_id_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_holds_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_credit_holds_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_holds")),
    )
    op.create_index(
        "ix_credit_holds_account_status", "credit_holds", ["account_id", "status"], unique=False
    )
    op.create_index(
        "ix_credit_holds_tenant_customer",
        "credit_holds",
        ["organization_id", "mode", "customer_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_credit_holds_status_expires_at", "credit_holds", ["status", "expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_credit_holds_status_expires_at", table_name="credit_holds")
    op.drop_index("ix_credit_holds_tenant_customer", table_name="credit_holds")
    op.drop_index("ix_credit_holds_account_status", table_name="credit_holds")
    op.drop_table("credit_holds")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("reason")
