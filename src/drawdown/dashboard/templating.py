"""Jinja2 (autoescape on) and the helpers every page renders with."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from drawdown.dashboard.context import CSRF_FIELD, DashCtx, LoginRequired, login_url
from drawdown.errors import DrawdownError
from drawdown.ids import render_id
from drawdown.money import format_units

__all__ = ["DashRoute", "env", "fragment", "is_htmx", "page"]

TEMPLATES = Path(__file__).parent / "templates"


def _money(units: int, decimals: int, symbol: str = "") -> str:
    text = format_units(units, decimals)
    return f"{text} {symbol}".strip()


def _ts(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _build_env() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every user-supplied string is escaped unless a template says not
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["money"] = _money
    environment.filters["ts"] = _ts
    environment.filters["pretty_json"] = _pretty_json
    environment.filters["rid"] = lambda value, kind: render_id(kind, value)
    environment.globals["CSRF_FIELD"] = CSRF_FIELD
    return environment


env = _build_env()


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _context(request: Request, ctx: DashCtx | None, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "request": request,
        "ctx": ctx,
        "csrf": ctx.session.csrf if ctx is not None else values.pop("csrf", ""),
        "can_write": ctx.can_write if ctx is not None else False,
        "mode": ctx.tenant.mode if ctx is not None else None,
        "nav": values.pop("nav", ""),
        **values,
    }


# Scripts only from our own static files: a string that slipped past escaping still could
# not run. Inline styles stay allowed (htmx adds its indicator style).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(
    request: Request, ctx: DashCtx | None, name: str, status: int = 200, **values: Any
) -> HTMLResponse:
    html = env.get_template(name).render(_context(request, ctx, values))
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def fragment(
    request: Request, ctx: DashCtx | None, name: str, status: int = 200, **values: Any
) -> HTMLResponse:
    """A partial template (htmx swaps it into the page)."""
    return page(request, ctx, name, status, **values)


def _error_response(request: Request, exc: DrawdownError) -> Response:
    if request.url.path.startswith("/dashboard/api/"):
        return JSONResponse(exc.body(), status_code=exc.status)
    name = "partials/error.html" if is_htmx(request) else "error.html"
    html = env.get_template(name).render(
        {"status": exc.status, "title": exc.title, "detail": exc.detail, "code": exc.code}
    )
    response = HTMLResponse(html, status_code=exc.status, headers=SECURITY_HEADERS)
    if is_htmx(request):
        # htmx ignores error responses by default; show the message where the action was.
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _login_response(request: Request) -> Response:
    if request.url.path.startswith("/dashboard/api/"):
        body = {"status": 401, "code": "login_required", "detail": "Sign in to the dashboard"}
        return JSONResponse(body, status_code=401)
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": "/dashboard/login"})
    return RedirectResponse(login_url(request), status_code=303)


class DashRoute(APIRoute):
    """Dashboard routes render errors as HTML (and a missing session as a redirect to the
    sign-in page) instead of the API's problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _login_response(request)
            except DrawdownError as exc:
                return _error_response(request, exc)

        return guarded
