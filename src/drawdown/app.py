"""``create_app(settings)``: routers, middleware, error handlers and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from drawdown.clock import Clock, SystemClock
from drawdown.config import Settings, load_settings
from drawdown.db.engine import Database
from drawdown.errors import DrawdownError, problem
from drawdown.http.limits import BodySizeLimit
from drawdown.http.ratelimit import Limits
from drawdown.ops import metrics
from drawdown.ops.collectors import collectors, watch_pool
from drawdown.ops.health import readiness_router
from drawdown.ops.lifecycle import Lifecycle
from drawdown.ops.requests import RequestContext

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("drawdown")

PROBLEM_JSON = "application/problem+json"


def _routers() -> list[Any]:
    from drawdown.credits.api import router as credits
    from drawdown.currencies.api import router as currencies
    from drawdown.customers.api import router as customers
    from drawdown.dialects.paymentkit.api import router as paymentkit
    from drawdown.dialects.polar.api import routers as polar_routers
    from drawdown.events.api import router as events
    from drawdown.events.api import usage_router as meter_usage
    from drawdown.holds.api import router as holds
    from drawdown.meters.api import router as meters

    return [
        customers,
        currencies,
        meters,
        meter_usage,
        events,
        credits,
        holds,
        *polar_routers(),
        paymentkit,
    ]


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or load_settings()
    database = database or Database(settings.database_url)

    lifecycle = Lifecycle(settings.shutdown_drain_delay_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lifecycle.install()
        clock_thread = None
        if settings.run_clock_in_server:
            from drawdown.credits.clock import ClockThread

            clock_thread = ClockThread(
                database, app.state.clock, settings.clock_interval_s, settings.expiry_grace
            )
            clock_thread.start()
        yield
        lifecycle.drain()
        if clock_thread is not None:
            clock_thread.stop(settings.shutdown_timeout_s)  # lets a pass in progress finish
        database.dispose()
        metrics.process_stopped()
        log.info("stopped", extra={"event": "shutdown_complete"})

    app = FastAPI(
        title="drawdown",
        version="0.1.0",
        summary="Usage metering and prepaid-credit billing",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock or SystemClock()
    app.state.lifecycle = lifecycle
    app.state.limits = Limits(
        settings.rate_limit_requests_per_s,
        settings.rate_limit_burst,
        settings.rate_limit_events_per_s,
        settings.workers,
        settings.max_batch_events,
    )
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)
    # Added last, so outermost: the request id and the log line cover every response.
    app.add_middleware(RequestContext, log_requests=settings.log_requests)
    for router in _routers():
        app.include_router(router)
    app.include_router(readiness_router)
    _install_metrics(app, settings, database)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _install_metrics(app: FastAPI, settings: Settings, database: Database) -> None:
    app.state.metrics_collectors = []
    if settings.metrics_token is None:
        return
    from drawdown.ops.health import metrics_router

    metrics.enable(app.version)
    app.state.metrics_collectors = collectors(database, app.state.clock)
    watch_pool(database)
    app.include_router(metrics_router)


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: each process builds its app from the environment."""
    return create_app()


def _problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DrawdownError)
    async def on_drawdown_error(request: Request, exc: DrawdownError) -> JSONResponse:
        response = _problem_response(exc.status, exc.body())
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err["loc"]), "msg": _validation_message(err)} for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        body = problem(422, "validation_error", "Validation failed", summary)
        body["errors"] = errors
        return _problem_response(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}"
        title = code.replace("_", " ").capitalize()
        return _problem_response(exc.status_code, problem(exc.status_code, code, title, detail))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = problem(500, "internal_error", "Internal error", "An unexpected error occurred")
        return _problem_response(500, body)


def _validation_message(err: Any) -> str:
    if err.get("type") == "json_invalid":
        return "Malformed JSON: " + str(err.get("ctx", {}).get("error", "cannot be parsed"))
    return str(err["msg"])
