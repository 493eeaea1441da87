"""The Payment Kit dialect's router: every route under ``/paymentkit/api``."""

from __future__ import annotations

from fastapi import APIRouter

from drawdown.dialects.paymentkit import (
    events_api,
    grants_api,
    meters_api,
    transactions_api,
    webhooks_api,
)
from drawdown.dialects.paymentkit.routing import PaymentKitRoute, not_found_route

__all__ = ["router"]

router = APIRouter(tags=["paymentkit"], route_class=PaymentKitRoute)
for module in (meters_api, events_api, grants_api, transactions_api, webhooks_api):
    router.include_router(module.router)
# Last: any other path under /paymentkit answers 404 in Payment Kit's error shape.
router.add_api_route(
    "/paymentkit/{path:path}",
    not_found_route,
    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
    include_in_schema=False,
)
