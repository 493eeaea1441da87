"""FastAPI dependencies: the database, the settings and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from drawdown.clock import Clock
from drawdown.config import Settings
from drawdown.db.engine import Database
from drawdown.errors import AuthenticationError, PermissionDeniedError
from drawdown.ids import render_id
from drawdown.keys import service as keys
from drawdown.tenancy import Access, Principal, Tenant

__all__ = ["Ctx", "IngestCtx", "ReadCtx", "RequestContext", "WriteCtx", "bearer_token"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    principal: Principal
    database: Database
    settings: Settings
    clock: Clock

    @property
    def tenant(self) -> Tenant:
        return self.principal.tenant


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "Missing API key: send 'Authorization: Bearer <key>'", code="missing_api_key"
        )
    return token.strip()


def _requires(access: Access) -> Callable[[Request], RequestContext]:
    def dependency(request: Request) -> RequestContext:
        database: Database = request.app.state.database
        token = bearer_token(request)
        # A recently seen key needs no connection at all (one transaction less per call).
        principal = keys.cached_principal(token)
        if principal is None:
            with database.read() as conn:
                principal = keys.authenticate(conn, token)
        request.state.api_key_id = render_id("api_key", principal.key_id)  # for the request log
        if not principal.allows(access):
            raise PermissionDeniedError(
                f"This API key's scope '{principal.scope}' does not allow {access} calls",
                code="insufficient_scope",
            )
        state = request.app.state
        return RequestContext(principal, database, state.settings, state.clock)

    return dependency


ReadCtx = Annotated[RequestContext, Depends(_requires("read"))]
IngestCtx = Annotated[RequestContext, Depends(_requires("ingest"))]
WriteCtx = Annotated[RequestContext, Depends(_requires("write"))]
Ctx = ReadCtx
