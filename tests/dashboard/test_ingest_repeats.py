"""Duplicates counted at ingest (both databases): per tenant and minute, in the batch's
transaction, exact under retries of the same batch (one after another and at once), nothing
for a refused batch, no statement for a batch without duplicates, one for a batch with
some; the overview shows them beside the events ingested over the same minutes."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import drawdown
from drawdown.clock import ManualClock
from drawdown.db.engine import Database
from drawdown.events import explore
from tests.dashboard.conftest import Dash, new_key
from tests.dialects.test_query_counts import counted

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _batch(prefix: str, size: int) -> list[dict[str, Any]]:
    return [
        {"identifier": f"{prefix}-{n}", "name": "dup.test", "external_customer_id": "someone"}
        for n in range(size)
    ]


def _ingest(dash: Dash, events: list[dict[str, Any]], status: int = 200) -> Any:
    headers = {"Authorization": f"Bearer {dash.key.secret}"}
    response = dash.client.post("/v1/events/ingest", json={"events": events}, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def _stat(html: str, name: str) -> int:
    found = re.search(rf'data-stat="{name}">(\d+)<', html)
    assert found, html[:3000]
    return int(found.group(1))


def _counts(database: Database, dash: Dash, clock: ManualClock, span: timedelta) -> Any:
    with database.read() as conn:
        return explore.ingest_counts(conn, dash.key.tenant, clock.now(), span)


def test_retried_batches_count_every_duplicate_once(
    signed_in: Callable[..., Dash], database: Database, clock: ManualClock
) -> None:
    dash = signed_in()
    batch = _batch("r", 4)
    batch.append(dict(batch[0]))  # repeated inside the batch: a duplicate too
    reported = []
    first = _ingest(dash, batch)
    assert first == {"inserted": 4, "duplicates": 1}
    reported.append(first["duplicates"])
    clock.advance(timedelta(seconds=90))  # the retries land in a later minute
    retried_minute = clock.now().replace(second=0, microsecond=0)
    for _ in range(3):
        again = _ingest(dash, batch)
        assert again == {"inserted": 0, "duplicates": 5}
        reported.append(again["duplicates"])
    # Refused as a whole (one invalid event): nothing stored, no duplicate counted.
    _ingest(dash, [*batch, {"identifier": "bad", "name": ""}], status=422)
    fresh = _ingest(dash, _batch("f", 3))
    assert fresh == {"inserted": 3, "duplicates": 0}

    overview = dash.get("/dashboard").text
    assert _stat(overview, "events_hour") == _stat(overview, "events_day") == 7
    assert _stat(overview, "duplicates_hour") == _stat(overview, "duplicates_day") == 16
    assert sum(reported) == 16

    # The windows are whole minutes, the same for events and duplicates.
    # The last hour is now the 60 minutes from the retries' one: the first batch's is out.
    clock.set(retried_minute + HOUR - timedelta(seconds=30))
    hour = _counts(database, dash, clock, HOUR)
    assert (hour.events, hour.duplicates) == (3 + 0, 15)
    day = _counts(database, dash, clock, DAY)
    assert (day.events, day.duplicates) == (7, 16)
    clock.advance(DAY)
    assert _counts(database, dash, clock, DAY).duplicates == 0
    assert (
        _stat(
            signed_in(organization_id=dash.key.tenant.organization_id).get("/dashboard").text,
            "duplicates_day",
        )
        == 0
    )


def test_one_statement_for_a_batch_with_duplicates_none_without(
    signed_in: Callable[..., Dash], database: Database
) -> None:
    dash = signed_in()
    with counted(database) as statements:
        _ingest(dash, _batch("q", 5))
    assert not [s for s in statements if "event_duplicate_counts" in s]
    with counted(database) as statements:
        _ingest(dash, _batch("q", 8))  # 5 stored already
    assert len([s for s in statements if "event_duplicate_counts" in s]) == 1


def test_other_organizations_see_none_of_the_duplicates(
    signed_in: Callable[..., Dash],
) -> None:
    a, b = signed_in(), signed_in()
    _ingest(a, _batch("s", 2))
    _ingest(a, _batch("s", 2))
    _ingest(b, _batch("s", 2))  # the same identifiers are new in another organization
    assert _stat(a.get("/dashboard").text, "duplicates_hour") == 2
    assert _stat(b.get("/dashboard").text, "duplicates_hour") == 0
    test_mode_other = signed_in(mode="live", organization_id=a.key.tenant.organization_id)
    assert _stat(test_mode_other.get("/dashboard").text, "duplicates_hour") == 0


def test_concurrent_retries_of_one_batch_count_exactly(database: Database, live_url: str) -> None:
    """The same batch sent by 6 clients at once to a live server, 3 times each: every
    event is stored once and every other copy is counted once."""
    key = new_key(database)
    batch = _batch("c", 50)
    results: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        with drawdown.Client(key.secret, base_url=live_url) as client:
            for _ in range(3):
                result = client.events.ingest(batch)
                with lock:
                    results.append(result)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 18
    assert sum(r.inserted for r in results) == 50
    duplicates = sum(r.duplicates for r in results)
    assert duplicates == 18 * 50 - 50
    with database.read() as conn:
        from drawdown.clock import utcnow

        counts = explore.ingest_counts(conn, key.tenant, utcnow(), DAY)
    assert (counts.events, counts.duplicates) == (50, duplicates)
