"""ledger entries: no foreign keys for what the account already implies

Revision ID: ledger_implied_keys
Revises: topups
Create Date: 2026-12-01 21:00:00

Every ingest batch appends about one ledger entry per event. Each entry's organization,
customer and currency are its account's (the account is locked and read by the writer that
posts it), so their foreign keys only repeat the account's and cost a parent lookup (a
trigger on PostgreSQL) per row. The account and grant keys stay. SQLite also loses the key
to events.id, which PostgreSQL dropped when events were partitioned: the ledger is
append-only and its invariants (entry and account agree) are checked after every test."""

from collections.abc import Sequence

from alembic import op

revision: str = "ledger_implied_keys"
down_revision: str | None = "topups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IMPLIED = (
    ("organization_id", "organizations"),
    ("customer_id", "customers"),
    ("currency_id", "currencies"),
)


def _name(column: str, table: str) -> str:
    return f"fk_ledger_entries_{column}_{table}"


def upgrade() -> None:
    dropped = list(_IMPLIED)
    if op.get_bind().dialect.name == "sqlite":
        dropped.append(("event_id", "events"))
    with op.batch_alter_table("ledger_entries") as batch:
        for column, table in dropped:
            batch.drop_constraint(_name(column, table), type_="foreignkey")


def downgrade() -> None:
    restored = list(_IMPLIED)
    if op.get_bind().dialect.name == "sqlite":
        restored.append(("event_id", "events"))
    with op.batch_alter_table("ledger_entries") as batch:
        for column, table in restored:
            batch.create_foreign_key(_name(column, table), table, [column], ["id"])
