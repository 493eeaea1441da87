"""FastAPI dependencies: the database, the settings and the authenticated caller."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from drawdown.clock import Clock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.errors import AuthenticationError, PermissionDeniedError
from drawdown.http.ratelimit import KeyLimits
from drawdown.ids import render_id
from drawdown.keys import service as keys
from drawdown.tenancy import Access, Principal, Tenant

__all__ = [
    "Ctx",
    "IngestCtx",
    "ReadCtx",
    "RequestContext",
    "WriteCtx",
    "api_key_principal",
    "bearer_token",
    "context_for",
]


@dataclass(frozen=True, slots=True)
class RequestContext:
    principal: Principal
    database: Database
    settings: Settings
    clock: Clock
    limits: KeyLimits | None = None  # the caller's rate limits (None: not limited)

    @property
    def tenant(self) -> Tenant:
        return self.principal.tenant


_MISSING = (
    "Missing API key: send 'Authorization: Bearer <key>' (or HTTP Basic, the key as user name)"
)


def _basic_user(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError(
            "Malformed HTTP Basic credentials", code="invalid_api_key"
        ) from None
    # Stripe's convention (curl -u KEY:): the key is the user name, the password is unused.
    return decoded.partition(":")[0]


def bearer_token(request: Request) -> str:
    """The API key of ``Authorization: Bearer <key>`` or ``Authorization: Basic``
    base64(``<key>:``)."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    token = credentials.strip()
    if scheme.lower() == "basic" and token:
        token = _basic_user(token).strip()
    elif scheme.lower() != "bearer":
        token = ""
    if not token:
        raise AuthenticationError(_MISSING, code="missing_api_key")
    return token


def api_key_principal(request: Request) -> Principal:
    token = bearer_token(request)
    # A recently seen key needs no connection at all (one transaction less per call).
    principal = keys.cached_principal(token)
    if principal is None:
        database: Database = request.app.state.database
        with database.read() as conn:
            principal = keys.authenticate(conn, token)
    return principal


def context_for(request: Request, principal: Principal, access: Access) -> RequestContext:
    """The context of an authenticated caller, once its scope allows ``access``."""
    request.state.api_key_id = render_id("api_key", principal.key_id)  # for the request log
    if not principal.allows(access):
        raise PermissionDeniedError(
            f"This key's scope '{principal.scope}' does not allow {access} calls",
            code="insufficient_scope",
        )
    state = request.app.state
    limits = state.limits.bind(principal.key_id, request.state)
    limits.charge_request()
    return RequestContext(principal, state.database, state.settings, state.clock, limits)


def _requires(access: Access) -> Callable[[Request], Awaitable[RequestContext]]:
    async def dependency(request: Request) -> RequestContext:
        # Async, so the common case (a recently seen key: no I/O) costs no thread-pool
        # hop; a key not in the cache is looked up in the pool, off the event loop.
        principal = keys.cached_principal(bearer_token(request))
        if principal is None:
            principal = await run_in_threadpool(api_key_principal, request)
        return context_for(request, principal, access)

    return dependency


ReadCtx = Annotated[RequestContext, Depends(_requires("read"))]
IngestCtx = Annotated[RequestContext, Depends(_requires("ingest"))]
WriteCtx = Annotated[RequestContext, Depends(_requires("write"))]
Ctx = ReadCtx
