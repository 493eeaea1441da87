"""The synthetic workload: customers, 3 meters, grants of mixed priority and expiry, and
usage events. Deterministic (seeded), so every run and backend sees the same shapes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "METERS",
    "MeterSpec",
    "customer_external_id",
    "event_batches",
    "grant_bodies",
]


@dataclass(frozen=True)
class MeterSpec:
    name: str
    event_name: str
    func: str
    property: str | None
    rate: str
    weight: int  # share of generated events


METERS = (
    MeterSpec("API calls", "bench.api_call", "count", None, "0.01", 5),
    MeterSpec("Tokens", "bench.tokens", "sum", "tokens", "0.001", 4),
    MeterSpec("Storage", "bench.storage", "sum", "mb", "0.0001", 1),
)
_MODELS = ("small", "medium", "large")
_REGIONS = ("eu-west", "us-east", "ap-south")


def customer_external_id(index: int) -> str:
    return f"bench-cus-{index:05d}"


def _properties(rng: random.Random, meter: MeterSpec) -> dict[str, Any]:
    if meter.func == "count":
        return {"endpoint": f"/v1/items/{rng.randrange(50)}", "status": 200}
    if meter.property == "tokens":
        return {"tokens": rng.randrange(1, 2000), "model": rng.choice(_MODELS)}
    return {"mb": rng.randrange(1, 500), "region": rng.choice(_REGIONS)}


def event_batches(
    label: str, count: int, batch_size: int, customers: int, now: datetime, seed: int = 7
) -> list[list[dict[str, Any]]]:
    """``count`` events in batches, each for one of ``customers`` (by external id), on one of
    the meters, with a timestamp in the hour before ``now``. Identifiers are unique per
    ``label``."""
    rng = random.Random(f"{seed}-{label}")
    weights = [meter.weight for meter in METERS]
    batches: list[list[dict[str, Any]]] = []
    for start in range(0, count, batch_size):
        batch = []
        for i in range(start, min(start + batch_size, count)):
            meter = rng.choices(METERS, weights)[0]
            when = now - timedelta(seconds=rng.uniform(0, 3600))
            batch.append(
                {
                    "identifier": f"{label}-{i:08d}",
                    "name": meter.event_name,
                    "external_customer_id": customer_external_id(rng.randrange(customers)),
                    "timestamp": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "properties": _properties(rng, meter),
                }
            )
        batches.append(batch)
    return batches


def grant_bodies(customers: int, currency_id: str, now: datetime) -> list[dict[str, Any]]:
    """0-3 grants per customer: priorities 10/50/90, never / 1 day / 30 days expiry, paid or
    promotional, some small enough to deplete (so ingest also books debt)."""
    rng = random.Random("grants")
    bodies = []
    for index in range(customers):
        for _ in range(rng.choice((0, 1, 2, 2, 3, 3))):
            expires = rng.choice((None, timedelta(days=1), timedelta(days=30)))
            body: dict[str, Any] = {
                "external_customer_id": customer_external_id(index),
                "currency_id": currency_id,
                "amount": f"{rng.choice((1, 5, 50, 500, 5000))}.00",
                "category": rng.choice(("paid", "promotional")),
                "priority": rng.choice((10, 50, 90)),
            }
            if expires is not None:
                body["expires_at"] = (now + expires).isoformat().replace("+00:00", "Z")
            bodies.append(body)
    return bodies
