"""A Hypothesis state machine: random grants, events (late, duplicate, negative, for a
customer that does not exist yet), voids, expiries and clock moves, run against the real
API and storage and against the reference model in tests/credits/model.py. After every
step the rule-12 invariants hold and the API agrees with the model."""

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
from tests.credits.model import MAccount, MGrant
from tests.credits.test_grants import iso

CUSTOMERS = ("c1", "c2")


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
        self.sent: list[dict[str, Any]] = []
        self.pending_events: list[tuple[int, Any]] = []  # c2's events before it exists
        self.counter = itertools.count()
        self.customer_ids["c1"] = setup.customer["id"]

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
        effective_h=st.integers(-48, 48),
        lifetime_h=st.one_of(st.none(), st.integers(1, 96)),
    )
    def grant(
        self,
        customer: str,
        amount: int,
        priority: int,
        category: str,
        effective_h: int,
        lifetime_h: int | None,
    ) -> None:
        if customer not in self.customer_ids:
            return
        now = self.clock.now()
        effective_at = now + timedelta(hours=effective_h)
        expires_at = effective_at + timedelta(hours=lifetime_h) if lifetime_h else None
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
        late_h=st.sampled_from([0, 0, 1, 5, 30, 200]),
        repeat=st.booleans(),
    )
    def event(self, customer: str, units: int, late_h: int, repeat: bool) -> None:
        now = self.clock.now()
        if repeat and self.sent:
            event = self.sent[-1]
            result = self.api.ok("POST", "/v1/events/ingest", json={"events": [event]})
            assert result == {"inserted": 0, "duplicates": 1}
            return
        at = now - timedelta(hours=late_h)
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

    @precondition(lambda self: bool(self.grant_keys))
    @rule(index=st.integers(0, 1000), action=st.sampled_from(["void", "expire"]))
    def close(self, index: int, action: str) -> None:
        customer, key, model = self.grant_keys[index % len(self.grant_keys)]
        response = self.api.post(f"/v1/credit-grants/{key}/{action}")
        changed = self.accounts[customer].close(
            model, "voided" if action == "void" else "expired", self.clock.now()
        )
        assert response.status_code == (200 if changed else 409), response.text

    @rule(hours=st.sampled_from([1, 6, 25, 100]), sweep=st.booleans())
    def advance(self, hours: int, sweep: bool) -> None:
        self.clock.advance(timedelta(hours=hours))
        if sweep:
            sweep_once(self.database, self.clock.now())

    @invariant()
    def agrees_with_model(self) -> None:
        if not hasattr(self, "accounts"):
            return
        now = self.clock.now()
        check_ledger(self.database)
        for name, customer_id in self.customer_ids.items():
            account = self.accounts[name]
            data = self.api.ok("GET", f"/v1/customers/{customer_id}/balances")["data"]
            available, debt = (
                (cents(data[0]["available"]), cents(data[0]["debt"])) if data else (0, 0)
            )
            assert (available, debt) == (account.available(now), account.debt), name
        for _, key, model in self.grant_keys:
            got = self.api.ok("GET", f"/v1/credit-grants/{key}")
            assert (got["status"], cents(got["remaining"])) == (model.status, model.remaining), key


@pytest.mark.slow
def test_credit_state_machine(make_api: Any, database: Any, clock: Any) -> None:
    machine = type(
        "BoundCreditMachine",
        (CreditMachine,),
        {"make_api": staticmethod(make_api), "database": database, "clock": clock},
    )
    case = machine.TestCase
    case.settings = settings(
        max_examples=20,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    case().runTest()
