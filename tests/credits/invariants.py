"""The ledger invariants, checked against what is stored."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from drawdown.db.engine import Database
from drawdown.db.tables import credit_accounts, credit_grants, ledger_entries


def check_ledger(database: Database) -> None:
    with database.read() as conn:
        accounts = list(conn.execute(select(credit_accounts)))
        grants = list(conn.execute(select(credit_grants)))
        entries = list(
            conn.execute(
                select(ledger_entries).order_by(
                    ledger_entries.c.account_id, ledger_entries.c.sequence
                )
            )
        )
    by_account: dict[Any, list[Any]] = defaultdict(list)
    by_grant: dict[Any, list[Any]] = defaultdict(list)
    for entry in entries:
        by_account[entry.account_id].append(entry)
        if entry.grant_id is not None:
            by_grant[entry.grant_id].append(entry)
    for account in accounts:
        own = by_account[account.id]
        # The entry's tenant, customer and currency are its account's (no foreign keys).
        implied = ("organization_id", "mode", "customer_id", "currency_id")
        for entry in own:
            assert all(getattr(entry, k) == getattr(account, k) for k in implied), (
                "not the account's"
            )
        # Sequences have no gaps; running sums match balance_after; the sum is the balance.
        assert [e.sequence for e in own] == list(range(1, len(own) + 1)), "sequence gap"
        running = 0
        for entry in own:
            running += entry.amount
            assert entry.balance_after == running, "balance_after drift"
        assert account.balance == running, "account balance != sum of entries"
        assert account.last_sequence == len(own)
        unbacked = sum(e.amount for e in own if e.grant_id is None)
        assert account.debt == -unbacked, "debt != uncovered usage less settlements"
        booked = [g for g in grants if g.account_id == account.id and g.booked_at is not None]
        assert account.balance == sum(g.remaining for g in booked) - account.debt
    for grant in grants:
        assert 0 <= grant.remaining <= grant.amount
        if grant.booked_at is None:
            assert grant.id not in by_grant, "an unbooked grant has entries"
            assert grant.status in ("pending", "voided", "expired")
        else:
            assert sum(e.amount for e in by_grant[grant.id]) == grant.remaining
            assert by_grant[grant.id][0].type == "grant"
