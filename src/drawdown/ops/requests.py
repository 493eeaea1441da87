"""The outermost middleware: a request id for every request (taken from ``X-Request-ID``
when the caller sent a sane one, made up otherwise, returned either way), one log line per
request, and the request metrics.

The line names the route template (``/v1/customers/{customer_id}``), never a query string
or a header; the API key appears only as its id (``key_...``), which the auth dependency
leaves in ``request.state``."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drawdown.ops import logs, metrics

__all__ = ["REQUEST_ID_HEADER", "RequestContext", "route_of"]

log = logging.getLogger("drawdown.request")

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# Probes and scrapes are logged at debug level only: they would drown the real traffic.
_QUIET = {"/healthz", "/readyz", "/metrics"}


def route_of(scope: Scope) -> str:
    """The matched route's template; unmatched paths share one label so that a scan of
    random URLs cannot grow the metrics."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _SANE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContext:
    def __init__(self, app: ASGIApp, *, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500
        surface_token = metrics._surface.set(metrics.surface_of(scope["path"]))
        log_token = logs.bind(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                if status == 429:  # Retry-After and RateLimit-*, whatever the surface
                    headers.extend((scope.get("state") or {}).get("rate_limit_headers", []))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_s = time.perf_counter() - started
            route = route_of(scope)
            metrics.observe_request(scope["method"], route, status, duration_s)
            if self.log_requests:
                self._log(scope, route, status, duration_s)
            logs._context.reset(log_token)
            metrics._surface.reset(surface_token)

    def _log(self, scope: Scope, route: str, status: int, duration_s: float) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        fields: dict[str, Any] = {
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(duration_s * 1000, 2),
        }
        if "api_key_id" in state:
            fields["api_key_id"] = state["api_key_id"]
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        level = logging.DEBUG if scope["path"] in _QUIET else logging.INFO
        if status >= 500:
            level = logging.ERROR
        log.log(level, "%s %s %d", scope["method"], route, status, extra=fields)
