"""Blocklet component signatures on HTTP requests (what ``@blocklet/payment-js`` sends):
read the signed parts of a request as received and find the registered app key."""

from __future__ import annotations

import json

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from drawdown.db.engine import Database
from drawdown.errors import AuthenticationError
from drawdown.keys import component_sig
from drawdown.keys import service as keys
from drawdown.tenancy import Mode, Principal

__all__ = ["SIGNATURE_HEADER", "component_principal"]

SIGNATURE_HEADER = "x-component-sig"


def _invalid(detail: str) -> AuthenticationError:
    return AuthenticationError(detail, code="invalid_signature")


def _int_header(request: Request, name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit() or len(value) > 12:
        raise _invalid(f"Missing or malformed {name} header")
    return int(value)


def _body(raw: bytes) -> object:
    """The body as the SDK signed it: the parsed JSON, or ``{}`` when there is none."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("The component signature covers a JSON body; this one is not JSON") from None
    return {} if parsed is None else parsed


async def _signed_request(request: Request) -> component_sig.SignedRequest:
    signature_hex = request.headers.get(SIGNATURE_HEADER, "").strip().removeprefix("0x")
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        raise _invalid(f"Malformed {SIGNATURE_HEADER} header") from None
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    return component_sig.SignedRequest(
        signature=signature,
        iat=_int_header(request, "x-component-sig-iat"),
        exp=_int_header(request, "x-component-sig-exp"),
        body=_body(await request.body()),
        query=component_sig.qs_parse(request.scope.get("query_string", b"").decode("latin-1")),
        method=request.method,
        url=raw_path.split(b"?", 1)[0].decode("latin-1"),
    )


async def component_principal(request: Request, livemode: bool | None) -> Principal | None:
    """The principal a component signature authenticates, in the mode ``livemode`` names
    (live when absent, as Payment Kit and its client default); None without a signature."""
    if SIGNATURE_HEADER not in request.headers:
        return None
    signed = await _signed_request(request)
    mode: Mode = "test" if livemode is False else "live"
    database: Database = request.app.state.database
    now_s = int(request.app.state.clock.now().timestamp())
    caller = request.headers.get("x-component-did", "")[:200]

    def verify() -> Principal:
        with database.read() as conn:
            return keys.authenticate_signature(conn, signed, mode, now_s, caller)

    return await run_in_threadpool(verify)
