"""A Hypothesis state machine: random grants, events (late, duplicate, negative, for a
customer that does not exist yet), voids, expiries, holds (created, partial, captured
below, at or above the amount held, released, expired by the clock), manual top-ups
(granted at once, or pending until confirmed, failed or expired) and clock moves, run
against the real API and storage and against the reference model in
tests/credits/model.py. After every step the rule-12 invariants hold, the API agrees with
the model, and available = remaining - debt - held (never below zero)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from drawdown.credits.clock import sweep_once
from tests.credits.conftest import Setup
from tests.credits.invariants import check_ledger
from tests.credits.model import GRACE, MAccount, MGrant, MHold, MTopup
from tests.credits.test_grants import iso

CUSTOMERS = ("c1", "c2")
_CONFLICT = {
    "captured": "hold_already_captured",
    "released": "hold_already_released",
    "expired": "hold_expired",
}


def cents(text: str) -> int:
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int(frac.ljust(2, "0")))


class CreditMachine(RuleBasedStateMachine):
    make_api: Any
    database: Any
    clock: Any

    @initialize()
    def start(self) -> None:
        # A new organization per example: examples never see each other's data.
        self.api = self.make_api()
        setup = Setup(self.api, self.database)
        self.currency_id = setup.currency["id"]
        self.accounts = {name: MAccount() for name in CUSTOMERS}
        self.customer_ids: dict[str, str] = {}
        self.grant_keys: list[tuple[str, str, MGrant]] = []  # (customer, api id, model)
        self.holds: list[tuple[str, str, MHold]] = []  # (customer, api id, model)
        self.topups: list[tuple[str, str, MTopup]] = []  # (customer, api id, model)
        self.sent: list[dict[str, Any]] = []
        self.pending_events: list[tuple[int, Any]] = []  # c2's events before it exists
        self.counter = itertools.count()
        self.customer_ids["c1"] = setup.customer["id"]
        # A standing grant (drawn last) so that holds mostly have something to reserve.
        self.grant("c1", 5000, 100, "paid", 0, None)

    def _create_customer(self, name: str) -> None:
        created = self.api.ok("POST", "/v1/customers", 201, json={"external_id": name})
        self.customer_ids[name] = created["id"]
        now = self.clock.now()
        for units, at in sorted(self.pending_events, key=lambda p: p[1]):
            self._model_usage(name, units, at, now)
        self.pending_events.clear()

    def _model_usage(self, name: str, units: int, at: Any, now: Any) -> None:
        account = self.accounts[name]
        if units > 0:
            account.consume(units, at, now)
        elif units < 0:
            grant = MGrant(
                f"usage-{next(self.counter)}",
                -units,
                50,
                "promotional",
                min(at, now),
                None,
                next(self.counter),
            )
            account.add(grant, now)

    @precondition(lambda self: "c2" not in self.customer_ids)
    @rule()
    def create_second_customer(self) -> None:
        self._create_customer("c2")

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        amount=st.integers(1, 2000),
        priority=st.sampled_from([0, 50, 50, 100]),
        category=st.sampled_from(["paid", "promotional"]),
        effective_h=st.sampled_from([-48, -2, 0, 0, 0, 1, 24]),
        # Short lifetimes, so that late events often land in an expiry grace.
        lifetime_min=st.one_of(st.none(), st.sampled_from([30, 60, 120, 1440, 5760])),
    )
    def grant(
        self,
        customer: str,
        amount: int,
        priority: int,
        category: str,
        effective_h: int,
        lifetime_min: int | None,
    ) -> None:
        if customer not in self.customer_ids:
            return
        now = self.clock.now()
        effective_at = now + timedelta(hours=effective_h)
        expires_at = effective_at + timedelta(minutes=lifetime_min) if lifetime_min else None
        body = {
            "customer_id": self.customer_ids[customer],
            "currency_id": self.currency_id,
            "amount": f"{amount / 100:.2f}",
            "priority": priority,
            "category": category,
            "effective_at": iso(effective_at),
        }
        if expires_at is not None:
            body["expires_at"] = iso(expires_at)
        response = self.api.post("/v1/credit-grants", json=body)
        if expires_at is not None and expires_at <= now:
            assert response.status_code == 422
            return
        assert response.status_code == 201, response.text
        model = MGrant(
            response.json()["id"],
            amount,
            priority,
            category,
            effective_at,
            expires_at,
            next(self.counter),
        )
        self.accounts[customer].add(model, now)
        self.grant_keys.append((customer, model.key, model))

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        units=st.integers(-500, 1500).filter(lambda u: u != 0),
        late_min=st.sampled_from([0, 0, 10, 50, 300, 1800, 12000]),
        repeat=st.booleans(),
    )
    def event(self, customer: str, units: int, late_min: int, repeat: bool) -> None:
        now = self.clock.now()
        if repeat and self.sent:
            event = self.sent[-1]
            result = self.api.ok("POST", "/v1/events/ingest", json={"events": [event]})
            assert result == {"inserted": 0, "duplicates": 1}
            return
        at = now - timedelta(minutes=late_min)
        event = {
            "identifier": f"e{next(self.counter)}",
            "name": "api_calls",
            "external_customer_id": customer,
            "timestamp": iso(at),
            "properties": {"units": units / 100},
        }
        assert self.api.ok("POST", "/v1/events/ingest", json={"events": [event]}) == {
            "inserted": 1,
            "duplicates": 0,
        }
        self.sent.append(event)
        if customer in self.customer_ids:
            self._model_usage(customer, units, at, now)
        else:
            self.pending_events.append((units, at))

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        amount=st.integers(1, 1500),
        category=st.sampled_from(["paid", "promotional"]),
        units=st.integers(1, 1500),
        sweep=st.booleans(),
    )
    def late_usage_across_expiry(
        self, customer: str, amount: int, category: str, units: int, sweep: bool
    ) -> None:
        """A grant expires; usage from just before that is reported during its grace."""
        if customer not in self.customer_ids:
            return
        self.grant(customer, amount, 0, category, 0, 10)
        self.clock.advance(timedelta(minutes=20))
        if sweep:
            sweep_once(self.database, self.clock.now())
        now = self.clock.now()
        at = now - timedelta(minutes=15)
        assert now - GRACE < at < self.grant_keys[-1][2].expires_at
        event = {
            "identifier": f"e{next(self.counter)}",
            "name": "api_calls",
            "external_customer_id": customer,
            "timestamp": iso(at),
            "properties": {"units": units / 100},
        }
        self.api.ok("POST", "/v1/events/ingest", json={"events": [event]})
        self._model_usage(customer, units, at, now)

    @precondition(lambda self: bool(self.grant_keys))
    @rule(index=st.integers(0, 1000), action=st.sampled_from(["void", "expire"]))
    def close(self, index: int, action: str) -> None:
        customer, key, model = self.grant_keys[index % len(self.grant_keys)]
        response = self.api.post(f"/v1/credit-grants/{key}/{action}")
        changed = self.accounts[customer].close(
            model, "voided" if action == "void" else "expired", self.clock.now()
        )
        assert response.status_code == (200 if changed else 409), response.text

    @rule(minutes=st.sampled_from([1, 20, 45, 360, 1500, 6000]), sweep=st.booleans())
    def advance(self, minutes: int, sweep: bool) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        if sweep:
            sweep_once(self.database, self.clock.now())

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        share=st.sampled_from([0.3, 0.6, 1.0, 1.5]),
        partial=st.booleans(),
        timeout_s=st.sampled_from([60, 1800, 7200]),
    )
    def hold(self, customer: str, share: float, partial: bool, timeout_s: int) -> None:
        if customer not in self.customer_ids:
            return
        now = self.clock.now()
        # Sized against the balance before holds, so holds often fit, overlap and run short.
        account = self.accounts[customer]
        amount = max(int((account.live_remaining(now) - account.debt) * share), 1)
        minimum = max(amount // 3, 1) if partial else amount
        body = {
            "customer_id": self.customer_ids[customer],
            "currency_id": self.currency_id,
            "amount": f"{amount / 100:.2f}",
            "timeout_s": timeout_s,
        }
        if partial:
            body["min_amount"] = f"{minimum / 100:.2f}"
        response = self.api.post("/v1/holds", json=body)
        expires_at = now + timedelta(seconds=timeout_s)
        placed = self.accounts[customer].hold(amount, minimum, expires_at, now)
        if placed is None:
            assert response.status_code == 402, response.text
            problem = response.json()
            assert cents(problem["available"]) == self.accounts[customer].available(now)
            return
        assert response.status_code == 201, response.text
        created = response.json()
        assert cents(created["amount"]) == placed.amount
        assert cents(created["available_after"]) == self.accounts[customer].available(now)
        self.holds.append((customer, created["id"], placed))

    @precondition(lambda self: bool(self.holds))
    @rule(
        index=st.integers(0, 1000),
        fraction=st.sampled_from([0, 0.5, 1, 1.5]),
        overage=st.booleans(),
        late_min=st.sampled_from([0, 0, 10, 90]),
    )
    def capture(self, index: int, fraction: float, overage: bool, late_min: int) -> None:
        customer, key, model = self.holds[index % len(self.holds)]
        now = self.clock.now()
        units = int(model.amount * fraction)
        at = now - timedelta(minutes=late_min)
        body = {
            "amount": f"{units / 100:.2f}",
            "allow_overage": overage,
            "event": {
                "identifier": f"cap{next(self.counter)}",
                "name": "api_calls",
                "timestamp": iso(at),
                "properties": {"units": units / 100},
            },
        }
        response = self.api.post(f"/v1/holds/{key}/capture", json=body)
        outcome = self.accounts[customer].capture(model, units, at, now, overage)
        expected = {"done": (200, None), "exceeds": (422, "exceeds_hold_amount")}
        status, code = expected.get(outcome, (409, _CONFLICT.get(outcome)))
        assert response.status_code == status, (outcome, response.text)
        if code is not None:
            assert response.json()["code"] == code

    @precondition(lambda self: bool(self.holds))
    @rule(index=st.integers(0, 1000))
    def release(self, index: int) -> None:
        customer, key, model = self.holds[index % len(self.holds)]
        response = self.api.post(f"/v1/holds/{key}/release")
        outcome = self.accounts[customer].release(model, self.clock.now())
        if outcome == "done":
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 409, response.text
            assert response.json()["code"] == _CONFLICT[outcome]

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        amount=st.integers(1, 1500),
        external=st.booleans(),
        category=st.sampled_from(["paid", "promotional"]),
        lifetime=st.sampled_from([None, "PT1H", "P1D"]),
    )
    def top_up(
        self, customer: str, amount: int, external: bool, category: str, lifetime: str | None
    ) -> None:
        if customer not in self.customer_ids:
            return
        now = self.clock.now()
        body = {
            "currency_id": self.currency_id,
            "amount": f"{amount / 100:.2f}",
            "settlement": "external" if external else "auto",
            "grant_template": {"category": category, "expires_after": lifetime},
        }
        url = f"/v1/customers/{self.customer_ids[customer]}/topups"
        made = self.api.ok("POST", url, 201, json=body)
        delta = {None: None, "PT1H": timedelta(hours=1), "P1D": timedelta(days=1)}[lifetime]
        pending_until = now + timedelta(days=1) if external else None
        model = MTopup(amount, category, delta, pending_until)
        if not external:
            model.status = "succeeded"
            self._add_topup_grant(customer, made["grant_id"], model, now)
        self.topups.append((customer, made["id"], model))

    def _add_topup_grant(self, customer: str, key: str, model: MTopup, now: Any) -> None:
        grant = model.grant(key, now, next(self.counter))
        self.accounts[customer].add(grant, now)
        self.grant_keys.append((customer, key, grant))

    @precondition(lambda self: bool(self.topups))
    @rule(index=st.integers(0, 1000), confirm=st.booleans())
    def settle_top_up(self, index: int, confirm: bool) -> None:
        customer, key, model = self.topups[index % len(self.topups)]
        now = self.clock.now()
        if confirm:
            response = self.api.post(f"/v1/topups/{key}/confirm", json={})
        else:
            response = self.api.post(f"/v1/topups/{key}/fail", json={"reason": "declined"})
        status = model.read(now)
        if status != "pending":
            assert response.status_code == 409, response.text
            assert response.json()["code"] == f"topup_{status}"
            return
        assert response.status_code == 200, response.text
        model.status = "succeeded" if confirm else "failed"
        if confirm:
            self._add_topup_grant(customer, response.json()["grant_id"], model, now)

    @invariant()
    def agrees_with_model(self) -> None:
        if not hasattr(self, "accounts"):
            return
        now = self.clock.now()
        check_ledger(self.database)
        for name, customer_id in self.customer_ids.items():
            account = self.accounts[name]
            data = self.api.ok("GET", f"/v1/customers/{customer_id}/balances")["data"]
            available, debt, held = (
                (cents(data[0]["available"]), cents(data[0]["debt"]), cents(data[0]["held"]))
                if data
                else (0, 0, 0)
            )
            assert (available, debt, held) == (
                account.available(now),
                account.debt,
                account.held(now),
            ), name
            # available = remaining - debt - held, as the API itself reports them.
            active = self.api.ok(
                "GET",
                "/v1/credit-grants",
                params={"customer_id": customer_id, "status": "active", "limit": 100},
            )["data"]
            remaining = sum(cents(g["remaining"]) for g in active)
            assert available == max(remaining - debt - held, 0), name
        for _, key, model in self.grant_keys:
            got = self.api.ok("GET", f"/v1/credit-grants/{key}")
            assert (got["status"], cents(got["remaining"])) == model.read(now), key
        for customer, key, hold in self.holds:
            got = self.api.ok("GET", f"/v1/holds/{key}")
            assert got["status"] == self.accounts[customer].hold_status(hold, now), key
        for _, key, topup in self.topups:
            assert self.api.ok("GET", f"/v1/topups/{key}")["status"] == topup.read(now), key


@pytest.mark.slow
def test_credit_state_machine(make_api: Any, database: Any, clock: Any) -> None:
    machine: Any = type(
        "BoundCreditMachine",
        (CreditMachine,),
        {"make_api": staticmethod(make_api), "database": database, "clock": clock},
    )
    case = machine.TestCase
    case.settings = settings(
        max_examples=25,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    case().runTest()
