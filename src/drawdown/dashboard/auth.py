"""Sign in with an API key, sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from drawdown.config import Settings
from drawdown.dashboard.context import CsrfRefused, FormBody, session_or_new, session_secret
from drawdown.dashboard.session import COOKIE_NAME, Session, sign
from drawdown.dashboard.templating import DashRoute, page
from drawdown.errors import AuthenticationError
from drawdown.keys import service as keys

__all__ = ["router", "set_session_cookie"]

router = APIRouter(prefix="/dashboard", route_class=DashRoute, include_in_schema=False)


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        COOKIE_NAME,
        sign(session, session_secret(request)),
        max_age=settings.dashboard_session_ttl_s,
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _safe_next(target: str) -> str:
    # Only paths inside the dashboard: never an open redirect to another site.
    if target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return "/dashboard"


@router.get("/login")
def login_form(request: Request, next: str = "/dashboard") -> HTMLResponse:
    session = session_or_new(request)
    response = page(request, None, "login.html", csrf=session.csrf, next=_safe_next(next))
    set_session_cookie(request, response, session)
    return response


@router.post("/login")
def login(request: Request, form: FormBody) -> Response:
    session = session_or_new(request)
    if form.get("csrf_token") != session.csrf:
        raise CsrfRefused("The sign-in form's CSRF token is missing or does not match")
    secret = form.get("api_key").strip()
    target = _safe_next(form.get("next", "/dashboard"))
    try:
        with request.app.state.database.read() as conn:
            principal = keys.authenticate(conn, secret)
    except AuthenticationError:
        response: Response = page(
            request,
            None,
            "login.html",
            status=401,
            csrf=session.csrf,
            next=target,
            error="That API key is unknown or revoked.",
        )
        set_session_cookie(request, response, session)
        return response
    settings: Settings = request.app.state.settings
    signed_in = session.signed_in(principal.key_id, settings.dashboard_session_ttl_s)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, signed_in)
    return response


@router.post("/logout")
def logout(request: Request, form: FormBody) -> Response:
    session = session_or_new(request)
    if form.get("csrf_token") != session.csrf:
        raise CsrfRefused("The sign-out form's CSRF token is missing or does not match")
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/dashboard")
    return response
