from __future__ import annotations

from typing import Any

from drawdown.webhooks.worker import Deliverer
from tests.webhooks.receiver import Receiver


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
