"""The dashboard's session cookie: a small JSON payload signed with HMAC-SHA256.

It holds the CSRF token, the signed-in API key's id (never its secret) and an expiry. The
key is looked up on every request, so revoking it ends its sessions at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, replace

__all__ = ["COOKIE_NAME", "Session", "new_session", "sign", "verify"]

COOKIE_NAME = "drawdown_session"


@dataclass(frozen=True, slots=True)
class Session:
    csrf: str
    key_id: uuid.UUID | None
    expires_at_s: int

    def signed_in(self, key_id: uuid.UUID, ttl_s: int) -> Session:
        # A fresh CSRF token on sign-in: a token seen before signing in is worth nothing.
        return replace(
            self, csrf=secrets.token_urlsafe(24), key_id=key_id, expires_at_s=_now_s() + ttl_s
        )


def _now_s() -> int:
    return int(time.time())


def new_session(ttl_s: int) -> Session:
    return Session(csrf=secrets.token_urlsafe(24), key_id=None, expires_at_s=_now_s() + ttl_s)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def sign(session: Session, secret: str) -> str:
    body: dict[str, object] = {
        "c": session.csrf,
        "k": str(session.key_id) if session.key_id else None,
        "e": session.expires_at_s,
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify(cookie: str | None, secret: str) -> Session | None:
    """The session in a cookie, or None when it is missing, forged, malformed or expired."""
    if not cookie or cookie.count(".") != 1:
        return None
    payload, mac = cookie.split(".")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        body = json.loads(_unb64(payload))
        session = Session(
            csrf=str(body["c"]),
            key_id=uuid.UUID(body["k"]) if body.get("k") else None,
            expires_at_s=int(body["e"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires_at_s > _now_s() else None
