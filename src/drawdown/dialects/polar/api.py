"""The Polar dialect's routers, mounted under ``/polar/v1/...``."""

from __future__ import annotations

from fastapi import APIRouter

from drawdown.dialects.polar import customer_meters, customers, events, meters, webhooks

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    return [
        customers.router,
        customer_meters.state_router,
        meters.router,
        events.router,
        customer_meters.router,
        webhooks.router,
    ]
