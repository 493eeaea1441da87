"""What every Payment Kit route shares: its error body, the ``livemode`` query parameter,
page-number pagination parameters, and the authenticated context.

Payment Kit answers failures with ``{"error": "<message>", "code": "<code>"}`` (Express +
Joi: bad input is a 400). Routes built with :class:`PaymentKitRoute` render every drawdown
error that way instead of as RFC 9457 problem details, so the native API keeps its one shape
and this dialect keeps Payment Kit's."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from drawdown.errors import DrawdownError, ValidationFailed
from drawdown.http.component_auth import component_principal
from drawdown.http.deps import RequestContext, api_key_principal, context_for
from drawdown.http.failures import as_validation_error
from drawdown.tenancy import Access

__all__ = [
    "MAX_PAGE_SIZE",
    "IngestPk",
    "PageParam",
    "PageSizeParam",
    "PaymentKitRoute",
    "ReadPk",
    "WritePk",
    "error_response",
]

log = logging.getLogger("drawdown.paymentkit")

MAX_PAGE_SIZE = 100
# Payment Kit validates with Joi and answers bad input with 400, not 422.
_STATUS = {422: 400}

PageParam = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")]
PageSizeParam = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, alias="pageSize", description="Items per page")
]


def error_response(status: int, message: str, code: str) -> JSONResponse:
    response = JSONResponse(
        {"error": message, "code": code}, status_code=_STATUS.get(status, status)
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        if err.get("type") == "json_invalid":
            reason = err.get("ctx", {}).get("error", "cannot be parsed")
            parts.append(f"malformed JSON at character {err['loc'][-1]}: {reason}")
            continue
        loc = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path"))
        msg = str(err["msg"])
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _drawdown_message(exc: DrawdownError) -> str:
    if isinstance(exc, ValidationFailed):
        # Drop the "body."/"query." prefix: Payment Kit messages name the field alone.
        parts = []
        for loc, msg in exc.errors[:5]:
            name = ".".join(str(p) for p in loc if p not in ("body", "query", "path"))
            parts.append(f"{name}: {msg}" if name else msg)
        return "; ".join(parts)
    return exc.detail


class PaymentKitRoute(APIRoute):
    """An APIRoute whose failures come out in Payment Kit's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except DrawdownError as exc:
                return error_response(exc.status, _drawdown_message(exc), exc.code)
            except RequestValidationError as exc:
                return error_response(400, _validation_message(exc), "validation_error")
            except StarletteHTTPException as exc:
                invalid = as_validation_error(exc)
                if invalid is not None:
                    return error_response(400, _drawdown_message(invalid), invalid.code)
                response = error_response(exc.status_code, str(exc.detail), "http_error")
                response.headers.update(exc.headers or {})
                return response
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return error_response(500, "An unexpected error occurred", "internal_error")

        return handler


LivemodeParam = Annotated[
    bool | None,
    Query(
        description=(
            "Payment Kit's mode flag. With an API key the key decides the mode, and a value "
            "that disagrees is refused (400 livemode_mismatch); with a component signature "
            "it names the mode (live when absent)."
        )
    ),
]


def _check_livemode(ctx: RequestContext, livemode: bool | None) -> RequestContext:
    if livemode is not None and livemode != ctx.tenant.livemode:
        key_mode = "live" if ctx.tenant.livemode else "test"
        raise DrawdownError(
            f"livemode={str(livemode).lower()} does not match this {key_mode}-mode API key; "
            f"use a {'live' if livemode else 'test'}-mode key or "
            f"livemode={str(ctx.tenant.livemode).lower()}",
            code="livemode_mismatch",
        )
    return ctx


async def _context(request: Request, access: Access, livemode: bool | None) -> RequestContext:
    """An API key (Bearer or Basic) when the request has an Authorization header; otherwise
    a Blocklet component signature, which acts in the mode ``livemode`` names."""
    if "authorization" not in request.headers:
        principal = await component_principal(request, livemode)
        if principal is not None:
            return context_for(request, principal, access)
    principal = await run_in_threadpool(api_key_principal, request)
    return _check_livemode(context_for(request, principal, access), livemode)


async def _read(request: Request, livemode: LivemodeParam = None) -> RequestContext:
    return await _context(request, "read", livemode)


async def _ingest(request: Request, livemode: LivemodeParam = None) -> RequestContext:
    return await _context(request, "ingest", livemode)


async def _write(request: Request, livemode: LivemodeParam = None) -> RequestContext:
    return await _context(request, "write", livemode)


ReadPk = Annotated[RequestContext, Depends(_read)]
IngestPk = Annotated[RequestContext, Depends(_ingest)]
WritePk = Annotated[RequestContext, Depends(_write)]


def not_found_route(path: str, request: Request) -> Any:
    """The last route under /paymentkit: unknown paths answer in Payment Kit's shape, and a
    known path asked with another method a 405 naming the ones it has."""
    from drawdown.http.openapi import allowed_methods

    allowed = allowed_methods(request.app, request.url.path)
    if allowed:
        response = error_response(
            405,
            f"{request.method} is not allowed on {request.url.path}; allowed: "
            + ", ".join(allowed),
            "method_not_allowed",
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return error_response(404, f"No route {request.method} {request.url.path}", "not_found")
