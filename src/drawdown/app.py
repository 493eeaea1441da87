"""``create_app(settings)``: routers, middleware, error handlers and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from drawdown.clock import Clock, SystemClock
from drawdown.config import Settings, load_settings
from drawdown.db.engine import Database
from drawdown.errors import DrawdownError, ValidationFailed, problem
from drawdown.http.docs import install_docs
from drawdown.http.failures import CatchUnexpected, as_validation_error
from drawdown.http.limits import BodySizeLimit
from drawdown.http.openapi import allowed_methods, install_openapi
from drawdown.http.ratelimit import Limits
from drawdown.http.text import check_request_text
from drawdown.ops import metrics, otel
from drawdown.ops.collectors import collectors, watch_pool
from drawdown.ops.health import readiness_router
from drawdown.ops.lifecycle import Lifecycle
from drawdown.ops.requests import RequestContext

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("drawdown")

PROBLEM_JSON = "application/problem+json"


def _routers() -> list[Any]:
    from drawdown.alerts.api import router as alerts
    from drawdown.credits.api import router as credits
    from drawdown.currencies.api import router as currencies
    from drawdown.customers.api import router as customers
    from drawdown.dialects.paymentkit.api import router as paymentkit
    from drawdown.dialects.polar.api import routers as polar_routers
    from drawdown.events.api import router as events
    from drawdown.events.api import usage_router as meter_usage
    from drawdown.holds.api import router as holds
    from drawdown.meters.api import router as meters
    from drawdown.topups.api import router as topups
    from drawdown.webhooks.api import router as webhooks

    return [
        customers,
        currencies,
        meters,
        meter_usage,
        events,
        credits,
        alerts,
        webhooks,
        holds,
        topups,
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
    from drawdown.topups import install as install_topups

    # Threshold top-ups join every credits transaction of this process; the clock runs
    # the schedules and expires pending top-ups.
    clock_passes = install_topups(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lifecycle.install()
        threads: list[Any] = []
        if settings.run_clock_in_server:
            from drawdown.credits.clock import ClockThread
            from drawdown.events.backfill import BackfillThread

            threads.append(
                ClockThread(
                    database,
                    app.state.clock,
                    settings.clock_interval_s,
                    settings.expiry_grace,
                    clock_passes,
                )
            )
            back = settings.max_event_age + timedelta(days=5)
            threads.append(BackfillThread(database, settings.clock_interval_s, back))
        if settings.run_webhooks_in_server:
            from drawdown.webhooks.worker import WebhookThread

            threads.append(WebhookThread(database, app.state.clock, settings))
        for thread in threads:
            thread.start()
        yield
        lifecycle.drain()
        for thread in threads:
            thread.stop(settings.shutdown_timeout_s)  # lets a pass in progress finish
        database.dispose()
        metrics.process_stopped()
        if tracer_provider is not None:
            tracer_provider.shutdown()  # flushes the last spans
        log.info("stopped", extra={"event": "shutdown_complete"})

    app = FastAPI(
        title="drawdown",
        version="0.1.0",
        summary="Usage metering and prepaid-credit billing",
        lifespan=lifespan,
        docs_url=None,  # served from vendored files by install_docs
        redoc_url=None,
        # Every route, on every surface: no NUL, lone surrogate or NaN gets in.
        dependencies=[Depends(check_request_text)],
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
    # Outside BodySizeLimit (whose own exception answers the 413), inside Starlette's
    # ServerErrorMiddleware, which would drop the connection after a 500.
    app.add_middleware(CatchUnexpected)
    # Added last, so outermost: the request id and the log line cover every response.
    app.add_middleware(RequestContext, log_requests=settings.log_requests)
    for router in _routers():
        app.include_router(router)
    from drawdown.dashboard import install as install_dashboard

    install_dashboard(app)
    app.include_router(readiness_router)
    _install_metrics(app, settings, database)
    tracer_provider = otel.instrument(app, database)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_docs(app)
    install_openapi(app)

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
            {"loc": _validation_loc(err), "msg": _validation_message(err)} for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        body = problem(422, "validation_error", "Validation failed", summary)
        body["errors"] = errors
        return _problem_response(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        invalid: ValidationFailed | None = as_validation_error(exc)
        if invalid is not None:
            return _problem_response(422, invalid.body())
        headers = dict(exc.headers or {})
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}"
        if exc.status_code == 405:
            # Every method of the path, not only the first matching route's (RFC 9110).
            allowed = allowed_methods(app, request.url.path) or [headers.get("Allow", "")]
            headers["Allow"] = ", ".join(allowed)
            detail = (
                f"{request.method} is not allowed on {request.url.path}; allowed: "
                + (headers["Allow"])
            )
        return _surface_error(request.url.path, exc.status_code, detail, headers)


def _surface_error(path: str, status: int, detail: str, headers: dict[str, str]) -> JSONResponse:
    """A routing failure (no route, wrong method) in the shape of the surface of ``path``."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
    if path.startswith("/polar/"):
        name = {404: "ResourceNotFound", 405: "MethodNotAllowed"}.get(status, "BadRequest")
        return JSONResponse({"error": name, "detail": detail}, status, headers=headers)
    if path.startswith("/paymentkit/"):
        return JSONResponse({"error": detail, "code": code}, status, headers=headers)
    title = code.replace("_", " ").capitalize()
    response = _problem_response(status, problem(status, code, title, detail))
    response.headers.update(headers)
    return response


def _validation_loc(err: Any) -> list[Any]:
    # FastAPI places a JSON syntax error at ("body", <character offset>): the offset goes
    # into the message, the location is the body.
    return ["body"] if err.get("type") == "json_invalid" else list(err["loc"])


def _validation_message(err: Any) -> str:
    if err.get("type") == "json_invalid":
        reason = str(err.get("ctx", {}).get("error", "cannot be parsed"))
        return f"Malformed JSON at character {err['loc'][-1]}: {reason}"
    return str(err["msg"])
