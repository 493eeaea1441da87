"""top-up rules and top-ups (docs/topups.md)

Revision ID: topups
Revises: webhook_endpoint_throttle
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import drawdown.db.types

revision: str = "topups"
down_revision: str | None = "webhook_endpoint_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topup_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("currency_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=True),
        sa.Column("interval", sa.String(length=16), nullable=True),
        sa.Column("anchor_at", drawdown.db.types.Timestamp(), nullable=True),
        sa.Column("next_run_at", drawdown.db.types.Timestamp(), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("target_balance", sa.BigInteger(), nullable=True),
        sa.Column("settlement", sa.String(length=8), nullable=False),
        sa.Column(
            "grant_template",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("max_per_day", sa.Integer(), nullable=True),
        sa.Column("max_amount_per_day", sa.BigInteger(), nullable=True),
        sa.Column("cooldown_s", sa.Integer(), nullable=False),
        sa.Column("decline_backoff_s", sa.Integer(), nullable=False),
        sa.Column("pending_ttl_s", sa.Integer(), nullable=True),
        sa.Column("created_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.CheckConstraint("method IN ('fixed', 'target')", name=op.f("ck_topup_rules_method")),
        sa.CheckConstraint(
            "settlement IN ('auto', 'external')", name=op.f("ck_topup_rules_settlement")
        ),
        sa.CheckConstraint(
            "trigger IN ('threshold', 'schedule')", name=op.f("ck_topup_rules_trigger")
        ),
        sa.ForeignKeyConstraint(
            ["currency_id"], ["currencies.id"], name=op.f("fk_topup_rules_currency_id_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_topup_rules_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_topup_rules_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topup_rules")),
    )
    with op.batch_alter_table("topup_rules", schema=None) as batch_op:
        batch_op.create_index("ix_topup_rules_customer_id", ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_topup_rules_tenant_currency",
            ["organization_id", "mode", "currency_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_topup_rules_trigger_next_run_at", ["trigger", "next_run_at"], unique=False
        )

    op.create_table(
        "topups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("settlement", sa.String(length=8), nullable=False),
        sa.Column(
            "grant_template",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.Column("period_start", drawdown.db.types.Timestamp(), nullable=True),
        sa.Column("external_reference", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column(
            "metadata_",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.Column("settled_at", drawdown.db.types.Timestamp(), nullable=True),
        sa.Column("expires_at", drawdown.db.types.Timestamp(), nullable=True),
        sa.Column("updated_at", drawdown.db.types.Timestamp(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('threshold', 'schedule', 'manual')", name=op.f("ck_topups_reason")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'canceled', 'expired')",
            name=op.f("ck_topups_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_topups_amount")),
        sa.ForeignKeyConstraint(
            ["currency_id"], ["currencies.id"], name=op.f("fk_topups_currency_id_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_topups_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["credit_grants.id"], name=op.f("fk_topups_grant_id_credit_grants")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_topups_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topups")),
        sa.UniqueConstraint(
            "rule_id",
            "customer_id",
            "period_start",
            name=op.f("uq_topups_rule_id_customer_id_period_start"),
        ),
    )
    with op.batch_alter_table("topups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_topups_customer_currency_created",
            ["customer_id", "currency_id", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_topups_status_expires_at", ["status", "expires_at"], unique=False)
        batch_op.create_index(
            "ix_topups_tenant_customer",
            ["organization_id", "mode", "customer_id", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("topups", schema=None) as batch_op:
        batch_op.drop_index("ix_topups_tenant_customer")
        batch_op.drop_index("ix_topups_status_expires_at")
        batch_op.drop_index("ix_topups_customer_currency_created")

    op.drop_table("topups")
    with op.batch_alter_table("topup_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_topup_rules_trigger_next_run_at")
        batch_op.drop_index("ix_topup_rules_tenant_currency")
        batch_op.drop_index("ix_topup_rules_customer_id")

    op.drop_table("topup_rules")
