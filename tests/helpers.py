"""Small builders shared by the metering tests."""

from __future__ import annotations

from typing import Any


def make_meter(api: Any, event_name: str = "api_call", **fields: Any) -> Any:
    body = {"name": fields.pop("name", f"Meter {event_name}"), "event_name": event_name}
    body["aggregation"] = fields.pop("aggregation", {"func": "count"})
    body.update(fields)
    return api.ok("POST", "/v1/meters", 201, json=body)


def ingest(api: Any, *events: dict[str, Any], status: int = 200) -> Any:
    return api.ok("POST", "/v1/events/ingest", status, json={"events": list(events)})
