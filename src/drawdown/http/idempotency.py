"""``Idempotency-Key`` on POSTs that create: the same key and body replay the first answer,
the same key with another body is a 409.

The stored response is written in the same transaction as the object it describes, so a
crash never leaves one without the other. Same key + same body replays the stored response
(with ``Idempotent-Replayed: true``); same key + different body or route is a 409. Two
racing requests with one key: the loser's unique-key violation rolls it back and it
replays the winner's response."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from drawdown.clock import utcnow
from drawdown.errors import ConflictError, request_field
from drawdown.http import store
from drawdown.http.deps import RequestContext

__all__ = ["MAX_KEY_LENGTH", "IdempotencyKey", "run_create"]

MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"

# The header as an endpoint parameter: `idempotency_key: IdempotencyKey = None`.
IdempotencyKey = Annotated[str | None, Header(alias=HEADER)]


def _request_hash(route: str, body: BaseModel | None) -> str:
    payload = route + "\n" + (body.model_dump_json() if body is not None else "")
    return hashlib.sha256(payload.encode()).hexdigest()


def _lookup(conn: Connection, ctx: RequestContext, key: str, ttl_s: int) -> Any:
    return store.stored_response(conn, ctx.tenant, key, utcnow() - timedelta(seconds=ttl_s))


def _replay(row: Any, request_hash: str) -> Response:
    if row.request_sha256 != request_hash:
        raise ConflictError(
            "This Idempotency-Key was used with a different request body or route",
            code="idempotency_key_reused",
        )
    return Response(
        content=row.response_body,
        status_code=row.response_status,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def run_create(
    ctx: RequestContext,
    idempotency_key: str | None,
    route: str,
    body: BaseModel | None,
    create: Callable[[Connection], BaseModel],
    status_code: int = 201,
) -> Response:
    """Run ``create`` in a write transaction, honouring the Idempotency-Key if one came."""
    if idempotency_key is None:
        with ctx.database.write() as conn:
            result = create(conn)
        return Response(result.model_dump_json(), status_code, media_type="application/json")
    if not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH:
        raise request_field(["header", HEADER], f"must be 1 to {MAX_KEY_LENGTH} characters")
    request_hash = _request_hash(route, body)
    ttl_s = ctx.settings.idempotency_ttl_s
    try:
        with ctx.database.write() as conn:
            row = _lookup(conn, ctx, idempotency_key, ttl_s)
            if row is not None:
                return _replay(row, request_hash)
            _forget_expired(conn, ctx, idempotency_key, ttl_s)
            content = create(conn).model_dump_json()
            store.insert_response(
                conn,
                ctx.tenant,
                {
                    "key": idempotency_key,
                    "route": route,
                    "request_sha256": request_hash,
                    "response_status": status_code,
                    "response_body": content,
                    "created_at": utcnow(),
                },
            )
    except IntegrityError:
        with ctx.database.read() as conn:
            row = _lookup(conn, ctx, idempotency_key, ttl_s)
        if row is None:
            raise
        return _replay(row, request_hash)
    return Response(content, status_code, media_type="application/json")


def _forget_expired(conn: Connection, ctx: RequestContext, key: str, ttl_s: int) -> None:
    store.forget_older(conn, ctx.tenant, key, utcnow() - timedelta(seconds=ttl_s))
