"""The operator dashboard at ``/dashboard``: server-rendered pages (Jinja2, htmx, Chart.js,
Pico CSS; every front-end file vendored under static/, see VENDOR.md). Every write goes
through the same services, request models and Idempotency-Key handling as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "install"]

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from drawdown.dashboard import (
        auth,
        customers,
        data,
        events,
        grants,
        holds,
        keys,
        meters,
        overview,
        topups,
        webhooks,
    )

    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    modules = (auth, overview, customers, grants, holds, topups, meters, events, keys)
    for module in (*modules, webhooks, data):
        app.include_router(module.router)
