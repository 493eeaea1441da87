"""Retries on the Standard Webhooks schedule with the clock under the test's control (never
slept through), Retry-After, 410, disabling after exhausted retries, secret rotation,
redelivery and replay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from standardwebhooks import Webhook

from drawdown.clock import ManualClock
from drawdown.db.engine import Database
from drawdown.db.tables import webhook_deliveries
from drawdown.webhooks.worker import Deliverer
from tests.webhooks.conftest import add_endpoint, drain
from tests.webhooks.receiver import Receiver


def _next_attempt_in(database: Database, clock: ManualClock) -> timedelta:
    with database.read() as conn:
        (due,) = conn.execute(
            select(webhook_deliveries.c.next_attempt_at).where(
                webhook_deliveries.c.status == "pending"
            )
        ).one()
    gap: timedelta = due - clock.now()
    return gap


def _customer(api: Any, name: str) -> None:
    api.ok("POST", "/v1/customers", 201, json={"external_id": name})


def test_retry_schedule_and_retry_after(
    api: Any, database: Database, clock: ManualClock, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/flaky")
    receiver.route("/flaky").plan = [(500, {}), (502, {}), (503, {"Retry-After": "7200"})]
    _customer(api, "r1")
    drain(deliverer)
    assert len(receiver.at("/flaky")) == 1  # attempt 1: immediately

    wait = _next_attempt_in(database, clock)
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=6)  # 5 s, jittered +-20%
    clock.advance(wait - timedelta(milliseconds=1))
    drain(deliverer)
    assert len(receiver.at("/flaky")) == 1  # not due yet
    clock.advance(timedelta(milliseconds=1))
    drain(deliverer)
    assert len(receiver.at("/flaky")) == 2  # attempt 2

    wait = _next_attempt_in(database, clock)
    assert timedelta(minutes=4) <= wait <= timedelta(minutes=6)
    clock.advance(wait)
    drain(deliverer)
    assert len(receiver.at("/flaky")) == 3  # attempt 3 answers 503 with Retry-After: 2 h

    wait = _next_attempt_in(database, clock)
    assert timedelta(hours=2) <= wait <= timedelta(hours=2, seconds=5)  # beyond 30 min +-20%
    clock.advance(wait)
    drain(deliverer)

    got = receiver.at("/flaky")
    assert len(got) == 4 and len({d.webhook_id for d in got}) == 1  # same id every retry
    attempts = api.ok("GET", "/v1/webhooks/deliveries")["data"]
    assert [(a["attempt"], a["http_code"], a["succeeded"]) for a in attempts] == [
        (4, 200, True),
        (3, 503, False),
        (2, 502, False),
        (1, 500, False),
    ]
    failed = api.ok("GET", "/v1/webhooks/deliveries", params={"succeeded": "false"})["data"]
    assert len(failed) == 3
    fives = api.ok("GET", "/v1/webhooks/deliveries", params={"http_code_class": 5})["data"]
    assert len(fives) == 3


def test_410_disables_the_endpoint_at_once(
    api: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    endpoint = add_endpoint(api, receiver, "/gone")
    add_endpoint(api, receiver, "/ops", ["webhook_endpoint.disabled"])
    receiver.route("/gone").plan = [(410, {})]
    _customer(api, "g1")
    drain(deliverer)
    shown = api.ok("GET", f"/v1/webhooks/endpoints/{endpoint['id']}")
    assert not shown["enabled"] and "410" in shown["disabled_reason"]
    notice = receiver.at("/ops")
    assert [d.payload["data"]["endpoint_id"] for d in notice] == [endpoint["id"]]

    _customer(api, "g2")
    drain(deliverer)
    assert len(receiver.at("/gone")) == 1  # nothing more while disabled
    api.ok("POST", f"/v1/webhooks/endpoints/{endpoint['id']}/enable")
    _customer(api, "g3")
    drain(deliverer)
    assert [d.payload["data"]["external_id"] for d in receiver.at("/gone")[1:]] == ["g3"]


def test_five_exhausted_events_disable_the_endpoint(
    api: Any, clock: ManualClock, receiver: Receiver, deliverer: Deliverer
) -> None:
    endpoint = add_endpoint(api, receiver, "/down", ["customer.created"])
    receiver.route("/down").plan = [(500, {})] * 50
    for i in range(5):
        _customer(api, f"x{i}")
    for _ in range(12):  # more rounds than the schedule has attempts
        drain(deliverer)
        clock.advance(timedelta(hours=25))
    assert len(receiver.at("/down")) == 50  # 10 attempts per event
    shown = api.ok("GET", f"/v1/webhooks/endpoints/{endpoint['id']}")
    assert not shown["enabled"]
    assert shown["disabled_reason"] == "5 consecutive events exhausted every retry"

    # Replay: only what never arrived, once the receiver is back.
    receiver.route("/down").plan = []
    enabled = api.ok("POST", f"/v1/webhooks/endpoints/{endpoint['id']}/enable")
    assert enabled["enabled"] and enabled["disabled_reason"] is None
    since = (clock.now() - timedelta(days=30)).isoformat()
    replay = api.ok(
        "POST", f"/v1/webhooks/endpoints/{endpoint['id']}/replay", 202, json={"since": since}
    )
    assert replay["scheduled"] == 5
    drain(deliverer)
    assert len(receiver.at("/down")) == 55
    again = api.ok(
        "POST", f"/v1/webhooks/endpoints/{endpoint['id']}/replay", 202, json={"since": since}
    )
    assert again["scheduled"] == 0  # nothing failed any more
    everything = api.ok(
        "POST",
        f"/v1/webhooks/endpoints/{endpoint['id']}/replay",
        202,
        json={"since": since, "only_failed": False},
    )
    assert everything["scheduled"] == 5


def test_rotation_sends_both_signatures_during_the_grace_period(
    api: Any, clock: ManualClock, receiver: Receiver, deliverer: Deliverer
) -> None:
    created = add_endpoint(api, receiver, "/rot")
    old_secret = created["secret"]
    rotated = api.ok(
        "POST",
        f"/v1/webhooks/endpoints/{created['id']}/rotate-secret",
        json={"grace_period_seconds": 3600},
    )
    new_secret = rotated["secret"]
    assert new_secret != old_secret and rotated["previous_secret_expires_at"]
    receiver.route("/rot").secrets = [old_secret, new_secret]
    _customer(api, "s1")
    drain(deliverer)
    (during,) = receiver.at("/rot")
    assert len(during.signatures) == 2
    assert during.verified_with == [old_secret, new_secret]  # each verifies on its own
    Webhook(new_secret).verify(during.body, during.headers)

    clock.advance(timedelta(hours=1, seconds=1))
    _customer(api, "s2")
    drain(deliverer)
    after = receiver.at("/rot")[1]
    assert len(after.signatures) == 1 and after.verified_with == [new_secret]


def test_redeliver_sends_the_same_id_again(
    api: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/one")
    other = add_endpoint(api, receiver, "/two")
    _customer(api, "d1")
    drain(deliverer)
    (event,) = api.ok("GET", "/v1/webhooks/events")["data"]
    out = api.ok("POST", f"/v1/webhooks/events/{event['id']}/redeliver", 202)
    assert out["scheduled"] == 2
    only = api.ok(
        "POST",
        f"/v1/webhooks/events/{event['id']}/redeliver",
        202,
        params={"endpoint_id": other["id"]},
    )
    assert only["scheduled"] == 1
    drain(deliverer)
    assert [d.webhook_id for d in receiver.at("/one")] == [event["id"]] * 2
    assert [d.webhook_id for d in receiver.at("/two")] == [event["id"]] * 3
    assert api.post("/v1/webhooks/events/msg_nope/redeliver").status_code == 404


def test_retention_forgets_settled_events_only(
    api: Any, clock: ManualClock, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/ok", ["customer.created"])
    _customer(api, "old")
    drain(deliverer)
    add_endpoint(api, receiver, "/down", ["customer.updated"])
    receiver.route("/down").plan = [(500, {})] * 3
    customers = api.ok("GET", "/v1/customers")["data"]
    api.ok("PATCH", f"/v1/customers/{customers[0]['id']}", json={"name": "N"})
    drain(deliverer)  # the update's delivery failed once and waits for its retry
    clock.advance(timedelta(days=31))  # past the 30-day default; only prune runs
    assert deliverer.prune_once() == 1
    log = api.ok("GET", "/v1/webhooks/events")["data"]
    assert [e["type"] for e in log] == ["customer.updated"]  # still pending: kept
    assert [a["event_type"] for a in api.ok("GET", "/v1/webhooks/deliveries")["data"]] == [
        "customer.updated"
    ]


def _exhaust(deliverer: Deliverer, clock: ManualClock) -> None:
    for _ in range(12):  # more rounds than the schedule has attempts
        drain(deliverer)
        clock.advance(timedelta(hours=25))


def test_only_consecutive_exhausted_events_disable(
    api: Any, clock: ManualClock, receiver: Receiver, deliverer: Deliverer
) -> None:
    """A delivery that succeeds in between starts the count again."""
    endpoint = add_endpoint(api, receiver, "/shaky", ["customer.created"])
    route = receiver.route("/shaky")
    route.plan = [(500, {})] * 40
    for i in range(4):
        _customer(api, f"s{i}")
    _exhaust(deliverer, clock)
    _customer(api, "ok-in-between")  # the plan has run out: 200
    drain(deliverer)
    route.plan = [(500, {})] * 40
    for i in range(4):
        _customer(api, f"t{i}")
    _exhaust(deliverer, clock)
    assert len(receiver.at("/shaky")) == 81
    assert api.ok("GET", f"/v1/webhooks/endpoints/{endpoint['id']}")["enabled"]  # 4 in a row
    route.plan = [(500, {})] * 10
    _customer(api, "fifth")
    _exhaust(deliverer, clock)
    shown = api.ok("GET", f"/v1/webhooks/endpoints/{endpoint['id']}")
    assert not shown["enabled"]
    assert shown["disabled_reason"] == "5 consecutive events exhausted every retry"


def test_redirects_are_failures_and_not_followed(
    api: Any, database: Database, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/moved")
    add_endpoint(api, receiver, "/elsewhere")
    receiver.route("/moved").plan = [(302, {"Location": receiver.url("/elsewhere")})]
    _customer(api, "m1")
    drain(deliverer)
    assert len(receiver.at("/moved")) == 1
    assert len(receiver.at("/elsewhere")) == 1  # its own delivery, not a followed redirect
    moved = api.ok("GET", "/v1/webhooks/deliveries", params={"succeeded": "false"})["data"]
    assert [(a["http_code"], a["attempt"]) for a in moved] == [(302, 1)]
    with database.read() as conn:
        statuses = conn.execute(select(webhook_deliveries.c.status)).scalars().all()
    assert sorted(statuses) == ["pending", "succeeded"]  # the 302 is retried later


def test_429_with_retry_after_holds_back_the_whole_endpoint(
    api: Any, clock: ManualClock, receiver: Receiver, deliverer: Deliverer
) -> None:
    """A receiver that says "slow down" gets nothing before the time it named, not even new
    events; other endpoints are not held back; its next success lifts the throttle."""
    add_endpoint(api, receiver, "/busy", ["customer.created"])
    add_endpoint(api, receiver, "/calm", ["customer.created"])
    receiver.route("/busy").plan = [(429, {"Retry-After": "600"})]
    _customer(api, "b1")
    drain(deliverer)
    _customer(api, "b2")
    drain(deliverer)
    assert len(receiver.at("/busy")) == 1 and len(receiver.at("/calm")) == 2
    clock.advance(timedelta(seconds=599))
    drain(deliverer)
    assert len(receiver.at("/busy")) == 1
    clock.advance(timedelta(seconds=1))
    drain(deliverer)
    names = [d.payload["data"]["external_id"] for d in receiver.at("/busy")]
    assert names[0] == "b1" and sorted(names[1:]) == ["b1", "b2"]
    _customer(api, "b3")  # the throttle is over: sent at once
    drain(deliverer)
    assert receiver.at("/busy")[-1].payload["data"]["external_id"] == "b3"


def test_a_plain_failure_holds_back_only_its_own_event(
    api: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    add_endpoint(api, receiver, "/broken", ["customer.created"])
    receiver.route("/broken").plan = [(500, {})]
    _customer(api, "p1")
    drain(deliverer)
    _customer(api, "p2")  # a 500 is this event's failure: the next one goes out at once
    drain(deliverer)
    assert [d.payload["data"]["external_id"] for d in receiver.at("/broken")] == ["p1", "p2"]
