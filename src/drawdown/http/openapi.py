"""The OpenAPI description, made to tell the truth about the API.

FastAPI's own document leaves out what drawdown does around the routes. This module adds it
in one pass over the generated document:

- the bearer security scheme (and so the Authorize button of ``/docs``);
- every error a route can answer, in its surface's shape (a 429 with its ``Retry-After`` and
  ``RateLimit-*`` headers on every operation a key's rate limit applies to): the native API's one
  ``Problem`` (``application/problem+json``, validation errors included, replacing FastAPI's
  ``HTTPValidationError``), Polar's ``PolarError``/``PolarValidationError`` and Payment
  Kit's ``PaymentKitError``;
- component names unique per surface (``Meter``, ``PolarMeter``, ``PaymentKitMeter``)
  instead of pydantic's module-qualified names for the ones that collide;
- stable operation ids made from the path: ``customers_create``, ``polar_meters_list``,
  ``customers_get_by_external_id``, ``paymentkit_credit_grants_summary``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["allowed_methods", "install_openapi", "operation_id"]

SECURITY_SCHEME = "bearerAuth"
_SURFACES = (("/polar/v1/", "polar", "Polar"), ("/paymentkit/api/", "paymentkit", "PaymentKit"))
_UNAUTHENTICATED = {"/healthz", "/readyz"}  # health checks: no key, no error shapes
_WRITE_METHODS = {"post", "put", "patch", "delete"}

_FIELD_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["loc", "msg"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
    },
}
_PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details: every failure of the native API.",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable, for machines"},
        "detail": {"type": "string", "description": "For people"},
        "errors": {
            "type": "array",
            "description": "Validation failures only: each offending field by location",
            "items": {"$ref": "#/components/schemas/FieldError"},
        },
    },
}
_POLAR_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}
_POLAR_VALIDATION_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string"},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": _FIELD_ERROR["properties"]["loc"],
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                    "input": {},
                    "ctx": {"type": "object"},
                },
            },
        },
    },
}
_PAYMENTKIT_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {"error": {"type": "string"}, "code": {"type": "string"}},
}
_DESCRIPTIONS = {
    "400": "Bad request",
    "401": "Missing or unknown API key",
    "403": "The API key's scope does not allow this call",
    "404": "Not found",
    "409": "Conflict",
    "413": "Request body too large",
    "422": "Validation failed",
    "429": "Over the API key's rate limit: retry after Retry-After seconds",
}
# Sent with every 429 (drawdown.http.ratelimit): the per-key token bucket's state.
_RATE_LIMIT_HEADERS: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Limit": {
        "description": "Requests (or events) the key may make in a burst",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Remaining": {
        "description": "What is left of the burst now",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the call would pass",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}


def operation_id(method: str, path: str) -> str:
    """``POST /v1/customers`` -> ``customers_create``; ``GET /polar/v1/meters/`` ->
    ``polar_meters_list``; ``GET /v1/customers/external/{external_id}/balances`` ->
    ``customers_balances_by_external_id``."""
    prefix, rest = "", path
    for base, surface, _ in _SURFACES:
        if path.startswith(base):
            prefix, rest = surface + "_", path.removeprefix(base)
    rest = rest.removeprefix("/v1/")
    segments = [s for s in rest.strip("/").split("/") if s]
    if path in _UNAUTHENTICATED or not segments:
        return prefix + "_".join([*segments, method.lower()])
    resource, tail = segments[0], segments[1:]
    if resource == "webhooks" and tail:  # a namespace: /v1/webhooks/endpoints, .../events
        resource, tail = f"webhook_{tail[0]}", tail[1:]
    by_external = tail[:1] == ["external"] and len(tail) > 1
    if by_external:
        tail = tail[2:]
    item = bool(tail) and tail[0].startswith("{")
    if item:
        tail = tail[1:]
    words = [s for s in tail if not s.startswith("{")]
    if words:
        action = "_".join(words)
    else:
        item = item or by_external
        action = {
            ("post", False): "create",
            ("get", False): "list",
            ("get", True): "get",
            ("patch", True): "update",
            ("put", True): "update",
            ("delete", True): "delete",
        }.get((method.lower(), item), method.lower())
    name = f"{prefix}{resource}_{action}" + ("_by_external_id" if by_external else "")
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def _surface(path: str) -> str:
    for base, surface, _ in _SURFACES:
        if path.startswith(base):
            return surface
    return "native"


_REF = "#/components/schemas/"


def _refs(value: Any) -> Iterator[str]:
    """Component names referenced anywhere in ``value`` ($ref, discriminator mappings)."""
    if isinstance(value, str):
        if value.startswith(_REF):
            yield value.removeprefix(_REF)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _component_surfaces(schema: dict[str, Any]) -> dict[str, set[str]]:
    """Which surfaces' operations reach each component, through any chain of references."""
    components = schema.get("components", {}).get("schemas", {})
    reached: dict[str, set[str]] = {name: set() for name in components}
    for path, operations in schema.get("paths", {}).items():
        surface = _surface(path)
        todo = list(_refs(operations))
        while todo:
            name = todo.pop()
            if name in reached and surface not in reached[name]:
                reached[name].add(surface)
                todo.extend(_refs(components[name]))
    return reached


_OUTER = {"ListResource": "List", "Page": "Page"}


def _clean(name: str) -> str:
    name = name.lstrip("_")
    name = name.removeprefix("Pk") if re.match(r"Pk[A-Z]", name) else name
    return name.removesuffix("Out") if len(name) > 3 else name


def _new_name(old: str, surfaces: set[str]) -> str:
    base = old.rsplit("__", 1)[-1]  # module-qualified when pydantic saw a collision
    base, _, mode = base.partition("-")
    generic = re.fullmatch(r"([A-Za-z]+)_([A-Za-z0-9]+)_", base)
    if generic:
        outer, inner = generic.groups()
        base = _clean(inner) + _OUTER.get(outer, outer)
    else:
        base = _clean(base)
    surface = "native"
    if "__dialects__polar__" in old or surfaces == {"polar"}:
        surface = "polar"
    elif "__dialects__paymentkit__" in old or surfaces == {"paymentkit"}:
        surface = "paymentkit"
    prefix = {"polar": "Polar", "paymentkit": "PaymentKit"}.get(surface, "")
    if prefix and base.startswith(prefix):
        prefix = ""
    return prefix + base + mode


def _rename_components(schema: dict[str, Any]) -> None:
    components: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    surfaces = _component_surfaces(schema)
    renames: dict[str, str] = {}
    taken: set[str] = set()
    for old in sorted(components):
        new = _new_name(old, surfaces.get(old, set()))
        if new in taken or (new in components and new != old and new not in renames):
            new = old  # never two components under one name
        renames[old] = new
        taken.add(new)
    inline = _inline_object_names({renames[n]: body for n, body in components.items()})
    for old, new in renames.items():
        if new in inline:
            renames[old] = new + "Body"
    schema["components"]["schemas"] = {
        renames[name]: body for name, body in sorted(components.items())
    }
    _rewrite_refs(schema, renames)
    for body in schema["components"]["schemas"].values():
        if isinstance(body, dict) and "title" in body:
            body.pop("title")  # the old class name; the component's name is the title


def _inline_object_names(components: dict[str, Any]) -> set[str]:
    """The names client generators give inline objects (component + property, PascalCase):
    a component of that name would collide with them (openapi-python-client drops both)."""
    names = set()
    for name, body in components.items():
        for prop, value in (body.get("properties") or {}).items():
            options = value.get("anyOf", [value]) if isinstance(value, dict) else []
            if any(isinstance(o, dict) and o.get("type") == "object" for o in options):
                names.add(name + "".join(part.title() for part in prop.split("_")))
    return names


def _rewrite_refs(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(_REF):
        name = value.removeprefix(_REF)
        return _REF + renames.get(name, name)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _rewrite_refs(item, renames)
    elif isinstance(value, list):
        value[:] = [_rewrite_refs(item, renames) for item in value]
    return value


def _error_content(surface: str, status: str) -> dict[str, Any]:
    if surface == "polar":
        name = "PolarValidationError" if status == "422" else "PolarError"
        media = "application/json"
    elif surface == "paymentkit":
        name, media = "PaymentKitError", "application/json"
    else:
        name, media = "Problem", "application/problem+json"
    return {media: {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _error_statuses(surface: str, method: str, operation: dict[str, Any]) -> list[str]:
    # Every authenticated call takes a token from its key's request bucket (429 when empty).
    statuses = ["401", "403", "404", "429"]
    if method in _WRITE_METHODS:
        statuses.append("409")
    if "requestBody" in operation:
        statuses.append("413")
    # Payment Kit answers every bad input with a 400 (Joi); the others with a 422.
    statuses.append("400" if surface == "paymentkit" else "422")
    if surface == "native":
        statuses.append("400")
    return statuses


def _document_errors(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        surface = _surface(path)
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's HTTPValidationError, never sent as such
            if path in _UNAUTHENTICATED:
                operation["security"] = []
                continue
            for status in sorted(_error_statuses(surface, method, operation)):
                responses[status] = {
                    "description": _DESCRIPTIONS[status],
                    "content": _error_content(surface, status),
                }
                if status == "429":
                    responses[status]["headers"] = _RATE_LIMIT_HEADERS
            # Errors a route declares itself (e.g. 402 on POST /v1/holds) get the same body.
            for status, response in responses.items():
                if status[0] in "45" and "content" not in response:
                    response["content"] = _error_content(surface, status)


def _set_operation_ids(schema: dict[str, Any]) -> None:
    seen: set[str] = set()
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            name = operation_id(method, path)
            if name in seen:  # a new route whose path shape another already has
                name = f"{name}_{method}"
            seen.add(name)
            operation["operationId"] = name


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})
    _set_operation_ids(schema)
    _rename_components(schema)
    components["schemas"].update(
        {
            "Problem": _PROBLEM,
            "FieldError": _FIELD_ERROR,
            "PolarError": _POLAR_ERROR,
            "PolarValidationError": _POLAR_VALIDATION_ERROR,
            "PaymentKitError": _PAYMENTKIT_ERROR,
        }
    )
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A drawdown API key: `Authorization: Bearer dd_test_...`",
        }
    }
    schema["security"] = [{SECURITY_SCHEME: []}]
    _document_errors(schema)
    return schema


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the described API has for a concrete ``path`` (for ``Allow`` on a 405:
    Starlette lists only the first matching route's, and routes are one per method). A path
    that a literal template matches (``/v1/events/ingest``) is that resource, not also the
    one of a template with a parameter there (``/v1/events/{event_id}``)."""
    table: list[tuple[re.Pattern[str], int, list[str]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            literals = sum(1 for part in template.split("/") if part and "{" not in part)
            methods = sorted(m.upper() for m in operations)
            table.append((re.compile(regex), literals, methods))
        app.state.allowed_methods = table
    matches = [(literals, names) for regex, literals, names in table if regex.fullmatch(path)]
    if not matches:
        return []
    best = max(literals for literals, _ in matches)
    return sorted({m for literals, names in matches if literals == best for m in names})


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`build_openapi`'s document at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
