"""``/readyz`` (ready for traffic: the database answers and the server is not draining) and
``/metrics`` (Prometheus text, only when DRAWDOWN_METRICS_TOKEN is set, behind that bearer
token). ``/healthz`` stays a bare liveness probe in the app."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from drawdown.db.engine import Database
from drawdown.errors import AuthenticationError, problem
from drawdown.ops import metrics
from drawdown.ops.lifecycle import Lifecycle

__all__ = ["metrics_router", "readiness_router"]

log = logging.getLogger("drawdown.health")

readiness_router = APIRouter(tags=["health"])
metrics_router = APIRouter(tags=["health"])


def _unready(detail: str) -> JSONResponse:
    body = problem(503, "not_ready", "Not ready", detail)
    return JSONResponse(body, status_code=503, media_type="application/problem+json")


@readiness_router.get(
    "/readyz", responses={503: {"description": "Draining, or the database is unreachable"}}
)
def readyz(request: Request) -> Response:
    lifecycle: Lifecycle = request.app.state.lifecycle
    if lifecycle.draining:
        return _unready("The server is shutting down")
    database: Database = request.app.state.database
    try:
        database.ping()
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness: database unreachable", extra={"error": type(exc).__name__})
        return _unready("The database is unreachable")
    return JSONResponse({"status": "ready"})


@metrics_router.get("/metrics", include_in_schema=False)
def metrics_endpoint(request: Request) -> Response:
    expected = request.app.state.settings.metrics_token.get_secret_value()
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise AuthenticationError("Send 'Authorization: Bearer <DRAWDOWN_METRICS_TOKEN>'")
    body, content_type = metrics.render(request.app.state.metrics_collectors)
    return Response(body, media_type=content_type)
