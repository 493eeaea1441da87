"""Standard Webhooks signing: secrets, the three ``webhook-*`` headers and the body.

Signatures come from the ``standardwebhooks`` package, so any Standard Webhooks library
verifies them. Several ``v1`` signatures may travel in one header (space separated): the
previous secret's during a rotation's grace period, and for Polar-dialect endpoints a second
one keyed with the secret string's own bytes, which is how Polar's SDK derives its key."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook

__all__ = ["new_secret", "render_body", "signature_header", "webhook_headers"]

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes; unique per endpoint."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def render_body(message_id: str, type_: str, occurred_at: datetime, data: Any) -> str:
    """The exact bytes sent (and signed): ``{id, type, timestamp, data}``."""
    envelope = {
        "id": message_id,
        "type": type_,
        "timestamp": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def _signatures(secret: str, polar: bool, msg_id: str, at: datetime, body: str) -> list[str]:
    out = [Webhook(secret).sign(msg_id, at, body)]
    if polar:
        # Polar keys its HMAC with the UTF-8 bytes of the whole secret string.
        out.append(Webhook(secret.encode()).sign(msg_id, at, body))
    return out


def signature_header(
    secrets_: Sequence[str], msg_id: str, at: datetime, body: str, *, polar: bool = False
) -> str:
    signatures: list[str] = []
    for secret in secrets_:
        signatures.extend(_signatures(secret, polar, msg_id, at, body))
    return " ".join(signatures)


def webhook_headers(
    secrets_: Sequence[str], msg_id: str, at: datetime, body: str, *, polar: bool = False
) -> dict[str, str]:
    """The request headers of one attempt at ``at`` (the attempt's own timestamp)."""
    return {
        "content-type": "application/json",
        "user-agent": "drawdown-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(secrets_, msg_id, at, body, polar=polar),
    }
