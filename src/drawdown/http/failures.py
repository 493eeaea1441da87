"""What every surface shares about failures it did not raise itself.

- FastAPI answers a body it cannot decode (bytes that are not UTF-8 JSON) with a bare
  ``HTTPException(400)``; each surface turns that into its own validation error with
  :func:`as_validation_error`.
- :class:`CatchUnexpected` turns an unexpected exception into a 500 answer *without*
  re-raising it: Starlette's own handler re-raises after answering, which makes the server
  drop the connection, so a client's next request on it got a reset."""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drawdown.errors import ValidationFailed, problem, request_field

__all__ = ["CatchUnexpected", "as_validation_error"]

log = logging.getLogger("drawdown")

_BODY_PARSE_DETAIL = "There was an error parsing the body"


def as_validation_error(exc: StarletteHTTPException) -> ValidationFailed | None:
    """FastAPI's "error parsing the body" 400 as the validation error it is, else None."""
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_DETAIL:
        return request_field(["body"], "Malformed JSON: the body is not UTF-8 JSON")
    return None


class CatchUnexpected:
    """The innermost safety net: a 500 in problem+json, the connection kept open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late for an answer: only dropping the connection tells the client
            body = orjson.dumps(
                problem(500, "internal_error", "Internal error", "An unexpected error occurred")
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
