"""The Payment Kit dialect's router: every route under ``/paymentkit/api``."""

from __future__ import annotations

from fastapi import APIRouter

from drawdown.dialects.paymentkit import meters_api
from drawdown.dialects.paymentkit.routing import PaymentKitRoute, not_found_route

__all__ = ["router"]

router = APIRouter(tags=["paymentkit"], route_class=PaymentKitRoute)
router.include_router(meters_api.router)
# Last: any other path under /paymentkit answers 404 in Payment Kit's error shape.
router.add_api_route(
    "/paymentkit/{path:path}",
    not_found_route,
    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
    include_in_schema=False,
)
