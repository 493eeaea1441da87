"""API keys: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from drawdown.dashboard.context import Dash, DashCtx, FormBody
from drawdown.dashboard.templating import DashRoute, page
from drawdown.errors import request_field
from drawdown.ids import parse_id, render_id
from drawdown.keys import service as keys
from drawdown.tenancy import Scope

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/api-keys", route_class=DashRoute, include_in_schema=False)

SCOPES: tuple[str, ...] = get_args(Scope)
MAX_NAME = 200


def _page(ctx: DashCtx, **values: Any) -> HTMLResponse:
    with ctx.database.read() as conn:
        rows = keys.list_tenant_keys(conn, ctx.tenant)
    listed = [
        {
            "id": render_id("api_key", row.id),
            "name": row.name,
            "scope": row.scope,
            "prefix": row.display_prefix,
            "created_at": row.created_at,
            "revoked_at": row.revoked_at,
            "current": row.id == ctx.principal.key_id,
        }
        for row in rows
    ]
    values.setdefault("errors", {})
    return page(ctx.request, ctx, "keys.html", nav="keys", keys=listed, scopes=SCOPES, **values)


@router.get("")
def list_keys(ctx: Dash) -> HTMLResponse:
    return _page(ctx)


@router.post("")
def create_key(ctx: Dash, form: FormBody) -> HTMLResponse:
    ctx.check_csrf(form)
    ctx.require_write()
    name = form.get("name").strip() or "dashboard"
    scope = form.get("scope")
    if scope not in SCOPES:
        return _page(ctx, errors={"scope": f"must be one of {', '.join(SCOPES)}"})
    if len(name) > MAX_NAME:
        return _page(ctx, errors={"name": f"at most {MAX_NAME} characters"})
    with ctx.database.write() as conn:
        created = keys.create_key(conn, ctx.tenant, scope, name=name)  # type: ignore[arg-type]
    return _page(ctx, created=created)


@router.post("/{key_id}/revoke")
def revoke_key(ctx: Dash, key_id: str, form: FormBody) -> Response:
    ctx.check_csrf(form)
    ctx.require_write()
    parsed = parse_id("api_key", key_id)
    if parsed is None:
        raise request_field(["path", "key_id"], "is not an API key id")
    with ctx.database.write() as conn:
        keys.revoke_tenant_key(conn, ctx.tenant, parsed)
    return RedirectResponse("/dashboard/api-keys", status_code=303)
