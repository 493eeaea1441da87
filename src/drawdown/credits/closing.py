"""Closing a deleted customer's credits: its open grants are voided (what
remains leaves with ``void`` entries, reason ``customer_deleted``) and its active holds
are released, in the deleting transaction. Its ledger and events stay as history."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection

from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits import store
from drawdown.credits.book import OPEN_STATUSES
from drawdown.credits.work import CreditWork
from drawdown.tenancy import Tenant

__all__ = ["CUSTOMER_DELETED", "close_customer_credits"]

CUSTOMER_DELETED = "customer_deleted"


def close_customer_credits(
    conn: Connection,
    tenant: Tenant,
    customer_id: uuid.UUID,
    now: datetime,
    grace: timedelta = DEFAULT_EXPIRY_GRACE,
) -> None:
    keys = store.open_accounts_of_customer(conn, tenant, customer_id)
    if not keys:
        return
    work = CreditWork.open(conn, tenant, keys, now, grace=grace, with_holds=True)
    for _, book in work.pairs():
        for grant in sorted(book.grants.values(), key=lambda g: g.id):
            if grant.status in OPEN_STATUSES:
                book.void(grant, now, CUSTOMER_DELETED)
        for hold in sorted((book.holds or {}).values(), key=lambda h: h.id):
            if hold.status == "active":
                book.resolve_hold(hold, "released", now, CUSTOMER_DELETED)
    work.finish()
