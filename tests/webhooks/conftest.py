from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.webhooks.worker import Deliverer
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(database: Database) -> Settings:
    return Settings(
        database_url=database.url,
        run_clock_in_server=False,
        run_webhooks_in_server=False,
        webhook_allow_private=True,
        webhook_timeout_s=5,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def deliverer(database: Database, clock: Any, settings: Settings) -> Iterator[Deliverer]:
    worker = Deliverer(database, clock, settings, rng=random.Random(7))
    yield worker
    worker.close()


def drain(deliverer: Deliverer, max_passes: int = 50) -> int:
    """Run worker passes until nothing is left to do now; the number of things done."""
    done = 0
    for _ in range(max_passes):
        step = deliverer.run_once()
        if step == 0:
            return done
        done += step
    raise AssertionError("the worker never ran out of work")


def add_endpoint(
    api: Any, receiver: Receiver, path: str, types: list[str] | None = None, **extra: Any
) -> Any:
    body = {"url": receiver.url(path), "event_types": types or ["*"], **extra}
    created = api.ok("POST", "/v1/webhooks/endpoints", 201, json=body)
    receiver.route(path, created["secret"])
    return created
