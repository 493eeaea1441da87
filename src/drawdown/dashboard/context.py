"""Who is looking at the dashboard: the session, the signed-in key's principal, the CSRF
check and the write check. Pages get a :class:`DashCtx` from :data:`Dash`."""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request

from drawdown.clock import Clock
from drawdown.config import Settings
from drawdown.dashboard.session import COOKIE_NAME, Session, new_session, verify
from drawdown.db.engine import Database
from drawdown.errors import AuthenticationError, DrawdownError, PermissionDeniedError
from drawdown.http.deps import RequestContext
from drawdown.keys import service as keys
from drawdown.tenancy import Principal, Tenant

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Dash",
    "DashCtx",
    "Form",
    "LoginRequired",
    "current_session",
    "read_form",
    "session_secret",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_FIELDS = 500
_secret_lock = threading.Lock()


class LoginRequired(Exception):
    """No valid session: pages redirect to the sign-in page, htmx and data calls get 401."""


class CsrfRefused(PermissionDeniedError):
    code = "csrf_refused"


def session_secret(request: Request) -> str:
    """The signing key: the setting, else the one stored in the database (made on first
    use, so every process and host of one deployment signs alike)."""
    state = request.app.state
    cached: str | None = getattr(state, "dashboard_secret", None)
    if cached is not None:
        return cached
    with _secret_lock:
        settings: Settings = state.settings
        secret = settings.dashboard_secret
        if secret is None:
            database: Database = state.database
            with database.write() as conn:
                secret = keys.server_secret(conn, "dashboard_session")
        state.dashboard_secret = secret
        return secret


def current_session(request: Request) -> Session | None:
    return verify(request.cookies.get(COOKIE_NAME), session_secret(request))


def session_or_new(request: Request) -> Session:
    settings: Settings = request.app.state.settings
    return current_session(request) or new_session(settings.dashboard_session_ttl_s)


@dataclass(frozen=True, slots=True)
class DashCtx:
    request: Request
    session: Session
    principal: Principal
    database: Database
    settings: Settings
    clock: Clock

    @property
    def tenant(self) -> Tenant:
        return self.principal.tenant

    @property
    def can_write(self) -> bool:
        return self.principal.allows("write")

    @property
    def api(self) -> RequestContext:
        """The same context an API call with this key gets (services, idempotency)."""
        return RequestContext(self.principal, self.database, self.settings, self.clock)

    def require_write(self) -> None:
        if not self.can_write:
            raise PermissionDeniedError(
                f"This API key's scope '{self.principal.scope}' is read-only: "
                "the dashboard shows everything and changes nothing",
                code="insufficient_scope",
            )

    def check_csrf(self, form: Form) -> None:
        sent = form.get(CSRF_FIELD) or self.request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.session.csrf.encode()):
            raise CsrfRefused("The form's CSRF token is missing or does not match your session")


def _dash(request: Request) -> DashCtx:
    session = current_session(request)
    if session is None or session.key_id is None:
        raise LoginRequired()
    state = request.app.state
    database: Database = state.database
    try:
        with database.read() as conn:
            principal = keys.principal_for_key(conn, session.key_id)
    except AuthenticationError:
        raise LoginRequired() from None
    return DashCtx(request, session, principal, database, state.settings, state.clock)


Dash = Annotated[DashCtx, Depends(_dash)]


class Form:
    """An urlencoded form body (every dashboard form and htmx request sends one)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def optional(self, name: str) -> str | None:
        """The field stripped, or None when it is blank."""
        value = self.get(name).strip()
        return value or None


async def read_form(request: Request) -> Form:
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise DrawdownError("The form could not be read", code="bad_form") from None
    return Form(pairs)


FormBody = Annotated[Form, Depends(read_form)]


def login_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return "/dashboard/login?next=" + quote(target, safe="")
