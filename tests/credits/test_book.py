"""The engine's pure core (drawdown order, debt paid first, time, void and expire) on
hand-made grants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from drawdown.credits.book import Book, GrantState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENT = uuid.uuid4()


def grant(
    amount: int,
    *,
    priority: int = 50,
    expires_in_h: float | None = None,
    category: str = "paid",
    effective_h: float = 0,
    seq: int = 0,
) -> GrantState:
    return GrantState(
        id=uuid.UUID(int=seq + 1),
        amount=amount,
        remaining=amount,
        category=category,
        priority=priority,
        effective_at=T0 + timedelta(hours=effective_h),
        expires_at=T0 + timedelta(hours=expires_in_h) if expires_in_h is not None else None,
        status="pending",
    )


def book_with(*grants: GrantState, now: datetime = T0) -> Book:
    book = Book(balance=0, debt=0, last_sequence=0, grants={})
    for g in grants:
        book.add_grant(g, now)
    return book


def taken(book: Book) -> dict[int, int]:
    return {
        e.grant_id.int - 1: -e.amount
        for e in book.entries
        if e.type == "consumption" and e.grant_id
    }


def test_grant_ten_use_three_leaves_seven() -> None:
    book = book_with(grant(10))
    book.consume(3, EVENT, T0, T0)
    assert book.balance == 7 and book.available() == 7 and book.debt == 0
    assert [(e.type, e.amount, e.balance_after) for e in book.entries] == [
        ("grant", 10, 10),
        ("consumption", -3, 7),
    ]
    book.check()


def test_order_priority_then_expiry_then_promotional_then_effective_then_creation() -> None:
    now = T0 + timedelta(hours=1)
    grants = [
        grant(1, priority=60, seq=0),  # drawn last: worst priority
        grant(1, expires_in_h=None, seq=1),  # never expires: after those that do
        grant(1, expires_in_h=5, seq=2),  # expires later than seq 3
        grant(1, expires_in_h=4, category="paid", seq=3),
        grant(1, expires_in_h=4, category="promotional", seq=4),  # promotional first
        grant(1, expires_in_h=4, category="paid", effective_h=-1, seq=5),  # earlier effective
        grant(1, priority=10, seq=6),  # best priority: first
    ]
    book = book_with(*grants, now=now)
    for _ in range(7):
        book.consume(1, EVENT, now, now)
    order = [e.grant_id.int - 1 for e in book.entries if e.type == "consumption" and e.grant_id]
    assert order == [6, 4, 5, 3, 2, 1, 0]
    book.check()


def test_promotional_before_paid_among_grants_that_never_expire() -> None:
    # Category outranks effective_at: an older paid grant waits for a newer promotional one.
    now = T0 + timedelta(hours=5)
    book = book_with(
        grant(3, effective_h=-10, seq=0),
        grant(3, category="promotional", effective_h=4, seq=1),
        now=now,
    )
    book.consume(2, EVENT, now, now)
    assert taken(book) == {1: 2}


def test_creation_order_breaks_ties() -> None:
    book = book_with(grant(1, seq=3), grant(1, seq=1), grant(1, seq=2))
    for _ in range(3):
        book.consume(1, EVENT, T0, T0)
    assert [e.grant_id.int - 1 for e in book.entries if e.type == "consumption" and e.grant_id] == [
        1,
        2,
        3,
    ]


def test_uncovered_usage_becomes_debt_and_next_grant_pays_it() -> None:
    book = book_with(grant(5))
    book.consume(8, EVENT, T0, T0)
    assert book.balance == -3 and book.debt == 3 and book.available() == 0
    book.add_grant(grant(10, seq=1), T0)
    assert book.debt == 0 and book.balance == 7
    assert [e.type for e in book.entries] == [
        "grant",
        "consumption",
        "debt",
        "grant",
        "settlement",
        "debt_settled",
    ]
    book.check()


def test_late_event_prefers_grants_active_at_its_time() -> None:
    now = T0 + timedelta(hours=10)
    old = grant(5, seq=0, priority=90)  # active since T0, bad priority
    new = grant(5, seq=1, priority=0, effective_h=9)  # active only since T0+9h
    book = book_with(old, new, now=now)
    book.consume(7, EVENT, T0 + timedelta(hours=1), now)
    # The event happened before `new` existed: `old` pays first, then `new` covers the rest.
    assert taken(book) == {0: 5, 1: 2}


def test_catch_up_pays_debt_before_expiring_a_grant_nobody_saw() -> None:
    book = book_with()
    book.consume(4, EVENT, T0, T0)
    book.add_grant(grant(10, effective_h=1, expires_in_h=2, seq=1), T0)  # pending
    assert book.debt == 4
    book.catch_up(T0 + timedelta(hours=5))
    assert book.debt == 0 and book.balance == 0
    assert [e.type for e in book.entries][-4:] == [
        "grant",
        "settlement",
        "debt_settled",
        "expiration",
    ]
    assert book.entries[-1].amount == -6
    book.check()


def test_void_and_expire_close_what_remains() -> None:
    a, b = grant(10, seq=0), grant(4, seq=1)
    book = book_with(a, b)
    book.consume(3, EVENT, T0, T0)
    book.void(a, T0)
    book.expire(b, T0)
    assert a.status == "voided" and b.status == "expired"
    assert [(e.type, e.amount) for e in book.entries[-2:]] == [("void", -7), ("expiration", -4)]
    assert book.balance == 0
    book.check()


def test_depleted_grant_stays_depleted_through_expiry() -> None:
    g = grant(3, expires_in_h=1)
    book = book_with(g)
    book.consume(3, EVENT, T0, T0)
    assert g.status == "depleted"
    book.catch_up(T0 + timedelta(hours=2))
    assert g.status == "depleted" and book.entries[-1].type == "consumption"


def test_pending_grant_voided_books_nothing() -> None:
    g = grant(10, effective_h=5)
    book = book_with(g)
    book.void(g, T0)
    assert book.entries == [] and g.status == "voided" and g.remaining == 0


def test_grant_that_activates_pays_debt_in_full_and_expires_in_one_catch_up() -> None:
    book = book_with()
    book.consume(10, EVENT, T0, T0)
    g = grant(4, effective_h=1, expires_in_h=2)
    book.add_grant(g, T0)
    book.catch_up(T0 + timedelta(hours=3))
    assert g.status == "depleted" and book.debt == 6
    assert [e.type for e in book.entries][-3:] == ["grant", "settlement", "debt_settled"]
    book.check()
