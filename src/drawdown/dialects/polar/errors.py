"""Polar's error bodies, on Polar's routes only.

Polar (a FastAPI app too) answers::

    404 {"error": "ResourceNotFound", "detail": "Not found"}
    422 {"error": "RequestValidationError", "detail": [{"type", "loc", "msg", "input"}]}

and ``{"error": <name>, "detail": <message>}`` for 401, 403, 409. Every Polar route is a
:class:`PolarRoute`, which turns drawdown's errors (raised by the services and by the
authentication dependency) and FastAPI's request validation into those shapes, so the
native problem-details handlers in ``app.py`` never see a Polar request's error."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pydantic
from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from drawdown.errors import DrawdownError, ValidationFailed
from drawdown.http.failures import as_validation_error

__all__ = ["ERROR_NAMES", "PolarRoute", "polar_loc", "validation_error_body"]

# Polar's exception class name for each status it uses.
ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "NotPermitted",
    404: "ResourceNotFound",
    409: "ResourceAlreadyExists",
    405: "MethodNotAllowed",
    413: "RequestBodyTooLarge",
}

# Native field names that a service may name in an error, as Polar calls them.
_POLAR_NAMES = {
    "identifier": "external_id",
    "properties": "metadata",
    "from": "start_timestamp",
    "to": "end_timestamp",
    "window": "interval",
}


def polar_loc(loc: Sequence[str | int]) -> list[str | int]:
    return [_POLAR_NAMES.get(part, part) if isinstance(part, str) else part for part in loc]


def validation_error_body(error: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    return {"error": error, "detail": details}


def _pydantic_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        item = {key: err[key] for key in ("type", "loc", "msg", "input", "ctx") if key in err}
        item["loc"] = list(item.get("loc", []))
        details.append(item)
    encoded: list[dict[str, Any]] = jsonable_encoder(details)
    return encoded


def _service_details(exc: ValidationFailed) -> list[dict[str, Any]]:
    return [
        {"type": "value_error", "loc": polar_loc(loc), "msg": msg, "input": None}
        for loc, msg in exc.errors
    ]


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _error_response(exc: DrawdownError) -> JSONResponse:
    name = ERROR_NAMES.get(exc.status, "BadRequest")
    response = _json(exc.status, {"error": name, "detail": exc.detail})
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="drawdown"'
    return response


class PolarRoute(APIRoute):
    """An APIRoute whose errors come out in Polar's shapes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def polar_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                body = validation_error_body(
                    "RequestValidationError", _pydantic_details(exc.errors())
                )
                return _json(422, body)
            except pydantic.ValidationError as exc:
                # A dialect model built from already-parsed input (a translation step).
                body = validation_error_body(
                    "RequestValidationError", _pydantic_details(exc.errors())
                )
                return _json(422, body)
            except ValidationFailed as exc:
                body = validation_error_body("PolarRequestValidationError", _service_details(exc))
                return _json(422, body)
            except DrawdownError as exc:
                return _error_response(exc)
            except StarletteHTTPException as exc:
                invalid = as_validation_error(exc)
                if invalid is not None:
                    body = validation_error_body(
                        "RequestValidationError", _service_details(invalid)
                    )
                    return _json(422, body)
                name = ERROR_NAMES.get(exc.status_code, "BadRequest")
                return JSONResponse(
                    {"error": name, "detail": str(exc.detail)},
                    status_code=exc.status_code,
                    headers=exc.headers,
                )

        return polar_handler
