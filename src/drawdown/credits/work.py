"""The one unit of work of every credit writer: lock, load, catch up, change, check, flush.

    work = CreditWork.open(conn, tenant, keys, now)   # lock (creating missing accounts),
                                                      # load open grants, catch up the clock
    book = work.book(customer_id, currency_id)        # change: Book methods, in memory
    book.consume(...); work.add_grant(key, grant, name=..., metadata=...)
    work.finish()                                     # catch up again, check invariants, flush

Ingest (drawdown.credits.drawdown), grant create/void/expire (service.py) and the clock
(clock.py, through :meth:`CreditWork.open_due`) all go through it, so the locking order
(accounts in id order), the clock (activation pays debt first, expiry at expires_at) and the
ledger invariants are written once.

Extending it (holds, top-ups): add the rule as a :class:`Book` method (pure, in memory,
posting entries through ``Book._post``), call it between ``open`` and ``finish``; if the
writer stores rows of its own table, register them with :meth:`CreditWork.on_flush`, which
runs after the books are written, in the same transaction. ``finish`` also writes the
webhook events of what changed (grants created or closed, balances depleted or recovered,
debt, holds placed or resolved, alert crossings: drawdown.credits.effects) to the outbox.
Nothing else needs to change: reads (drawdown.credits.read) replay the same Book, so they
see what the writer booked.

A rule that must see every writer's result before it is checked (threshold top-ups) is a
*finish step*: :func:`add_finish_step`, called once by the application's wiring, so credits
never imports the domain that owns the rule. Steps run first in ``finish``, under the
account locks, and may add grants and ``on_flush`` writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from drawdown.config import DEFAULT_EXPIRY_GRACE
from drawdown.credits import store
from drawdown.credits.book import Book, GrantState
from drawdown.credits.effects import emit_effects
from drawdown.credits.records import AccountKey, AccountRecord
from drawdown.tenancy import Tenant

__all__ = ["CreditWork", "FinishStep", "add_finish_step"]

FinishStep = Callable[["CreditWork"], None]
_FINISH_STEPS: list[FinishStep] = []


def add_finish_step(step: FinishStep) -> None:
    """Run ``step(work)`` at the start of every :meth:`CreditWork.finish` (once per step)."""
    if step not in _FINISH_STEPS:
        _FINISH_STEPS.append(step)


class CreditWork:
    """Locked, caught-up books for a set of accounts, inside the caller's transaction."""

    def __init__(
        self,
        conn: Connection,
        now: datetime,
        accounts: Sequence[AccountRecord],
        grace: timedelta = DEFAULT_EXPIRY_GRACE,
        with_holds: bool = False,
    ) -> None:
        self.conn, self.now, self.grace = conn, now, grace
        books = store.load_books(conn, accounts, with_holds=with_holds)
        self._opened: dict[AccountKey, tuple[AccountRecord, Book]] = {}
        for account in accounts:
            book = books[account.id]
            book.catch_up(now, grace)
            self._opened[account.key] = (account, book)
        self._grant_values: dict[uuid.UUID, dict[str, Any]] = {}
        self._after_flush: list[Callable[[Connection], None]] = []

    @classmethod
    def open(
        cls,
        conn: Connection,
        tenant: Tenant,
        keys: Iterable[AccountKey],
        now: datetime,
        *,
        grace: timedelta = DEFAULT_EXPIRY_GRACE,
        with_holds: bool = False,
    ) -> CreditWork:
        """Lock these accounts (created if missing). Existing accounts are locked first (the
        common case: one statement); missing ones are then created and locked. Every
        transaction takes existing locks before creating anything, and creates in key
        order, so no two can wait on each other in a cycle. ``grace`` is the expiry grace
        (Settings.expiry_grace); ``with_holds`` loads the active holds, which only hold
        writers and the clock need."""
        wanted = list(keys)
        accounts = store.lock_accounts(conn, tenant, wanted)
        missing = set(wanted) - {account.key for account in accounts}
        if missing:
            store.ensure_accounts(conn, tenant, missing, now)
            accounts += store.lock_accounts(conn, tenant, missing)
        return cls(conn, now, accounts, grace, with_holds)

    @classmethod
    def open_due(
        cls,
        conn: Connection,
        now: datetime,
        max_accounts: int,
        grace: timedelta = DEFAULT_EXPIRY_GRACE,
    ) -> CreditWork:
        """The clock's pass: accounts of any tenant with a grant or a hold due, skipping
        those another pass holds (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
        due = store.due_account_ids(conn, now, max_accounts, grace)
        accounts = store.lock_due_accounts(conn, due, skip_locked=True)
        return cls(conn, now, accounts, grace, with_holds=True)

    def pairs(self) -> list[tuple[AccountRecord, Book]]:
        return list(self._opened.values())

    def __len__(self) -> int:
        return len(self._opened)

    def account(self, customer_id: uuid.UUID, currency_id: uuid.UUID) -> AccountRecord:
        return self._opened[(customer_id, currency_id)][0]

    def book(self, customer_id: uuid.UUID, currency_id: uuid.UUID) -> Book:
        return self._opened[(customer_id, currency_id)][1]

    def add_grant(self, key: AccountKey, grant: GrantState, **values: Any) -> None:
        """Add a new grant to the account's book; ``values`` are its stored-only columns
        (``name``, ``metadata_``, ``source_event_id``)."""
        self._opened[key][1].add_grant(grant, self.now)
        if values:
            self._grant_values[grant.id] = values

    def on_flush(self, write: Callable[[Connection], None]) -> None:
        """Run ``write`` after the books are flushed (rows of a writer's own table)."""
        self._after_flush.append(write)

    def held(self, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
        """What active holds reserve now on these opened accounts: from the book when it
        was loaded with its holds, else one query for the rest."""
        out: dict[AccountKey, int] = {}
        missing: dict[uuid.UUID, AccountKey] = {}
        for key in keys:
            account, book = self._opened[key]
            if book.holds is not None:
                out[key] = book.held(self.now)
            else:
                missing[account.id] = key
        if missing:
            sums = store.held_by_account(self.conn, list(missing), self.now)
            out.update({key: sums.get(account_id, 0) for account_id, key in missing.items()})
        return out

    def labels(self, keys: Iterable[AccountKey]) -> dict[AccountKey, Any]:
        """Each account's customer external id and currency decimals (for rendering)."""
        ids = {self._opened[key][0].id: key for key in keys}
        found = store.account_labels(self.conn, list(ids), self.now) if ids else {}
        return {key: found[account_id] for account_id, key in ids.items()}

    def finish(self) -> None:
        """Catch up again (a new grant may carry an expiry already past), check every book
        and write what changed: one multi-row statement per kind of write."""
        for step in _FINISH_STEPS:
            step(self)
        for _, book in self._opened.values():
            book.catch_up(self.now, self.grace)
            book.check(self.now)
        pairs = list(self._opened.values())
        # Webhook events (hold.* included) and balance alerts, decided here under the account
        # locks: the records still hold the balances before this transaction, the books the
        # new ones.
        emit_effects(self.conn, pairs, self.now)
        store.flush_books(self.conn, pairs, self.now, self._grant_values)
        for write in self._after_flush:
            write(self.conn)
