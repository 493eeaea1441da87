"""``create_app(settings)``: routers, middleware, error handlers and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from drawdown.clock import Clock, SystemClock
from drawdown.config import Settings, load_settings
from drawdown.db.engine import Database
from drawdown.errors import DrawdownError, ValidationFailed, problem
from drawdown.http.failures import CatchUnexpected, as_validation_error
from drawdown.http.limits import BodySizeLimit
from drawdown.http.text import check_request_text

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
    from drawdown.meters.api import router as meters

    return [customers, currencies, meters, events, credits, *polar_routers(), paymentkit]


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    settings = settings or load_settings()
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clock_thread = None
        if settings.run_clock_in_server:
            from drawdown.credits.clock import ClockThread

            clock_thread = ClockThread(database, app.state.clock, settings.clock_interval_s)
            clock_thread.start()
        yield
        if clock_thread is not None:
            clock_thread.stop()
        database.dispose()

    app = FastAPI(
        title="drawdown",
        version="0.1.0",
        summary="Usage metering and prepaid-credit billing",
        lifespan=lifespan,
        # Every route, on every surface: no NUL, lone surrogate or NaN gets in.
        dependencies=[Depends(check_request_text)],
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock or SystemClock()
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)
    # Outside BodySizeLimit (whose own exception answers the 413), inside Starlette's
    # ServerErrorMiddleware, which would drop the connection after a 500.
    app.add_middleware(CatchUnexpected)
    for router in _routers():
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


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
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.method} {request.url.path}"
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        title = code.replace("_", " ").capitalize()
        response = _problem_response(exc.status_code, problem(exc.status_code, code, title, detail))
        # 405 carries Allow (RFC 9110), as Starlette's router sets it.
        response.headers.update(exc.headers or {})
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
