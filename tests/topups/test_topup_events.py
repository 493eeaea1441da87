"""Every ``topup.*`` event reaches a real receiver once, verified with standardwebhooks;
the grant a top-up makes is announced as ``credit_grant.created`` like any other."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from drawdown.db.engine import Database
from drawdown.topups.clock import expire_pending
from drawdown.webhooks.worker import Deliverer
from tests.credits.conftest import Setup
from tests.topups.test_topups import rule, topups, use
from tests.webhooks.conftest import add_endpoint, drain
from tests.webhooks.receiver import Receiver


def test_a_receiver_sees_each_topup_event_once(
    setup: Setup, database: Database, clock: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    api = setup.api
    kinds = ["topup.requested", "topup.succeeded", "topup.failed", "topup.expired"]
    add_endpoint(api, receiver, "/topups", [*kinds, "credit_grant.created"])
    setup.grant("10")
    rule(setup, threshold="5", amount="10", settlement="external", pending_ttl_s=60,
         limits={"decline_backoff_s": 0})  # fmt: skip
    use(setup, "e1", 6)  # requested
    (first,) = topups(setup)
    api.ok("POST", f"/v1/topups/{first['id']}/confirm", json={"external_reference": "ch_1"})
    use(setup, "e2", 10)  # requested again
    second = topups(setup, status="pending")[0]
    api.ok("POST", f"/v1/topups/{second['id']}/fail", json={"reason": "insufficient funds"})
    use(setup, "e3", 1)  # requested a third time; left to expire
    clock.advance(timedelta(seconds=61))
    assert expire_pending(database, clock.now()) == 1
    drain(deliverer)
    drain(deliverer)  # nothing is sent twice

    got = sorted(receiver.at("/topups"), key=lambda d: d.webhook_id)
    assert receiver.unverified == []
    assert len({d.webhook_id for d in got}) == len(got)
    kinds = [d.type for d in got]
    assert Counter(kinds) == Counter({
        "credit_grant.created": 2,  # the seed grant and the confirmed top-up's
        "topup.requested": 3,
        "topup.succeeded": 1,
        "topup.failed": 1,
        "topup.expired": 1,
    })  # fmt: skip
    by_type = {d.type: d.payload["data"] for d in got}
    succeeded = by_type["topup.succeeded"]
    assert succeeded["topup_id"] == first["id"] and succeeded["external_reference"] == "ch_1"
    assert succeeded["amount"] == "10.00" and succeeded["external_customer_id"] == "c1"
    grant_ids = {d.payload["data"]["grant_id"] for d in got if d.type == "credit_grant.created"}
    assert succeeded["grant_id"] in grant_ids
    assert by_type["topup.failed"]["failure_reason"] == "insufficient funds"
    assert by_type["topup.expired"]["status"] == "expired"
    requested = [d.payload["data"] for d in got if d.type == "topup.requested"]
    assert all(r["status"] == "pending" and r["expires_at"] for r in requested)
