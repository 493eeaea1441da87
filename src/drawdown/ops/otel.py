"""OpenTelemetry traces (the ``drawdown[otel]`` extra), configured by the standard
``OTEL_*`` variables only: nothing happens unless ``OTEL_TRACES_EXPORTER`` names an
exporter (``otlp`` or ``console``) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, and ``OTEL_SDK_DISABLED`` is not ``true``.
The SDK itself reads the rest (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_EXPORTER_OTLP_PROTOCOL``, headers, sampling, ...)."""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from drawdown.db.engine import Database

__all__ = ["instrument"]

log = logging.getLogger("drawdown.otel")

EXCLUDED_URLS = "healthz,readyz,metrics"


def _wanted() -> str | None:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return None if exporter == "none" else exporter
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return "otlp" if any(os.environ.get(name) for name in endpoints) else None


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    # The OTLP exporters are the [otel] extra's heavy half (gRPC): imported by name.
    transport = "http" if protocol.startswith("http") else "grpc"
    module = importlib.import_module(
        f"opentelemetry.exporter.otlp.proto.{transport}.trace_exporter"
    )
    return module.OTLPSpanExporter()


def instrument(app: Any, database: Database) -> Any:
    """Trace ``app``'s requests and ``database``'s statements; the tracer provider, or None
    when tracing is not asked for (or the extra is missing, which is logged)."""
    exporter_name = _wanted()
    if exporter_name is None:
        return None
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        exporter = _exporter(exporter_name)
    except ImportError as exc:
        log.warning(
            "OTEL_* asks for traces but drawdown[otel] is not installed",
            extra={"missing": exc.name},
        )
        return None
    # Passed attributes would override OTEL_SERVICE_NAME: name the service only by default.
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    provider = TracerProvider(
        resource=Resource.create({} if named else {"service.name": "drawdown"})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, tracer_provider=provider)
    # skip_dep_check: the instrumentation declares SQLAlchemy < 2.1; it works with 2.1.
    SQLAlchemyInstrumentor().instrument(
        engine=database.engine, tracer_provider=provider, skip_dep_check=True
    )
    return provider
